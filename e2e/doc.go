// Package e2e holds ferry's end-to-end tests. They build bin/ferry once and
// run it as a user would, each test in its own home with its own
// conf/sys.properties, job.cfg, working directory and master port, and check
// the user contract of DESIGN.md sections 5 to 7: exit codes, the files a
// job leaves in the working directory, `stat`'s lines, and destinations that
// equal their sources byte for byte.
//
// Run them with: go test ./e2e/ -count=1 -v
package e2e
