//go:build unix

package console

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// readyPipe gives cmd, the master daemon, the write end of a pipe as its
// file descriptor 3 and returns the read end and the flags that tell the
// daemon to say on it whether it holds the workdir (see masterCommand).
func readyPipe(cmd *exec.Cmd) (r, w *os.File, args []string, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd.ExtraFiles = []*os.File{w}
	return r, w, []string{"--ready-fd", "3"}, nil
}

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
