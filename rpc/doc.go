// Package rpc is ferry's wire: the gRPC adapters of the Master, Tracker and
// Control services. Serve answers them for a master (server.go), mapping
// the master's errors to status codes; before a call reaches it, guard.go
// checks the caller's token (before the request is read) and the request's
// size against what its call needs, and logs refusals. Client is a
// worker's client of a master (client.go), mapping the status codes back
// to task's errors; convert.go turns task's plain types into protobuf and
// back, so that nothing past this package sees protobuf. The master's TLS
// identity, pinned by its clients (tls.go), its token (token.go) and
// dialling (dial.go) are here too.
package rpc
