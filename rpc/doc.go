// Package rpc is ferry's wire: the gRPC adapters of the Master, Tracker and
// Control services. Serve answers them for a master (server.go), checking
// the caller's token and mapping the master's errors to status codes;
// Client is a worker's client of a master (client.go), mapping them back
// to task's errors; convert.go turns task's plain types into protobuf and
// back, so that nothing past this package sees protobuf. The master's TLS
// identity, pinned by its clients (tls.go), its token (token.go) and
// dialling (dial.go) are here too.
package rpc
