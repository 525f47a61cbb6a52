package task

import (
	"fmt"
	"strings"
	"time"
)

// Limits are a job's limits in force now, or a worker's share of them;
// 0 is unlimited.
type Limits struct {
	BytesPerSec    int64
	RequestsPerSec int64
}

// Schedule is a job's throughput by time of day (job.cfg
// throughputSchedule): windows of the local clock, each with a rate. A time
// no window covers gets Default, which conf sets to maxThroughput.
type Schedule struct {
	Windows []Window
	Default int64 // bytes per second; 0 = unlimited
}

// Window is one part of a Schedule: from Start to End, in minutes after
// midnight, start included and end excluded. Start is 0 to 1439; End is 1 to
// 1440 (24:00), and differs from Start; an End before Start wraps past
// midnight (20:00-08:00 covers the night).
type Window struct {
	Start, End int
	Rate       int64 // bytes per second; 0 = unlimited
}

// MinutesPerDay is the number of minutes in a day, the range of Window.
const MinutesPerDay = 24 * 60

// Covers reports whether the window holds minute m of the day.
func (w Window) Covers(m int) bool {
	if w.Start < w.End {
		return w.Start <= m && m < w.End
	}
	return m >= w.Start || m < w.End
}

// String formats the window as job.cfg takes it, the rate in plain bytes
// per second: "08:00-20:00=20971520".
func (w Window) String() string {
	return fmt.Sprintf("%s-%s=%d", ClockText(w.Start), ClockText(w.End), w.Rate)
}

// ClockText formats minute m of the day as HH:MM.
func ClockText(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// RateAt returns the limit in bytes per second (0 = unlimited) at t, read
// on t's clock (time.Now() gives the local time of the host asking, the
// master's): the rate of the window covering t's hour and minute, or
// Default when none does.
func (s Schedule) RateAt(t time.Time) int64 {
	m := t.Hour()*60 + t.Minute()
	for _, w := range s.Windows {
		if w.Covers(m) {
			return w.Rate
		}
	}
	return s.Default
}

// String formats the windows as job.cfg's throughputSchedule takes them,
// rates in plain bytes per second ("08:00-20:00=20971520,20:00-08:00=0"),
// the form the master reads from a job's spec; Default is not part of it.
func (s Schedule) String() string {
	parts := make([]string, len(s.Windows))
	for i, w := range s.Windows {
		parts[i] = w.String()
	}
	return strings.Join(parts, ",")
}

// ParseSchedule parses throughputSchedule: comma-separated windows
// HH:MM-HH:MM=RATE, where times are 00:00 to 23:59 (and 24:00 as an end),
// a window whose end is before its start wraps past midnight, and RATE is
