// Command ferry is the one binary of every role: console, master, worker.
package main

import (
	"os"

	"ferry/console"
)

func main() { os.Exit(console.Main(os.Args, os.Stdout, os.Stderr)) }
