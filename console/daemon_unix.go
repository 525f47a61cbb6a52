//go:build unix

package console

import (
	"errors"
	"os/exec"
	"syscall"
)

// detach makes cmd, the master daemon, the leader of a session of its own,
// so that it outlives the terminal that started it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// terminate asks the process pid to stop gracefully (SIGTERM).
func terminate(pid int) error {
	return syscall.Kill(pid, syscall.SIGTERM)
}

// alive reports whether the process pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
