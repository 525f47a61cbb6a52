package rpc

import "time"

// For rpc_test: the caps, and the refusal log's window made short.
const (
	ReportCap   = reportCap
	CompleteCap = completeCap
	SmallCap    = smallCap
)

var RecordToPB, OutcomeToPB = recordToPB, outcomeToPB

func SetRefusalWindow(d time.Duration) (restore func()) {
	old := refusalWindow
	refusalWindow = d
	return func() { refusalWindow = old }
}
