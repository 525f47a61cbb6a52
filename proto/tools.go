//go:build tools

// This file pins the protoc plugins' versions in go.mod.
package ferrypb

import (
	_ "google.golang.org/grpc/cmd/protoc-gen-go-grpc"
	_ "google.golang.org/protobuf/cmd/protoc-gen-go"
)
