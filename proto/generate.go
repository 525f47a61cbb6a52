// Package ferrypb holds ferry's gRPC services and messages, generated from
// ferry.proto. The generated files are committed; `go generate ./proto`
// rebuilds them with protoc (Debian's protobuf-compiler) and the plugin
// versions pinned in go.mod (see tools.go).
package ferrypb

//go:generate sh -c "go build -o .bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go && go build -o .bin/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc && protoc --plugin=protoc-gen-go=.bin/protoc-gen-go --plugin=protoc-gen-go-grpc=.bin/protoc-gen-go-grpc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative ferry.proto && rm -rf .bin"
