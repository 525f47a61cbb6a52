#!/usr/bin/env bash
# console.sh: the command users type. Builds bin/ferry when it is missing or
# older than the sources, then runs it with ferry's home set to this
# directory (conf/, workdir/ and relative paths in config files are found
# from here). Try: ./console.sh run   or   ./console.sh --help
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$home/bin/ferry"

stale() {
  [ -x "$bin" ] || return 0
  [ -n "$(find "$home" -path "$home/workdir" -prune -o -path "$home/bin" -prune -o \
    \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$bin" -print -quit 2>/dev/null)" ]
}

if stale; then
  if ! command -v go >/dev/null 2>&1; then
    echo "console.sh: bin/ferry needs building and 'go' is not on PATH (install Go 1.26+ from https://go.dev/dl)" >&2
    exit 2
  fi
  # The tags drop code ferry never calls (urfave/cli's man-page writer,
  # gRPC's /debug/requests), whose package initialisers cost each start
  # about 1 ms.
  (cd "$home" && go build -tags urfave_cli_no_docs,grpcnotrace -o "$bin.tmp" ./cmd/ferry && mv "$bin.tmp" "$bin") || {
    echo "console.sh: building bin/ferry failed (see above)" >&2
    exit 2
  }
fi
FERRY_HOME="$home" exec "$bin" "$@"
