package console

import (
	"os"
	"os/exec"
	"syscall"
)

// readyPipe returns no pipe: Windows passes no extra file descriptors
// (exec.Cmd.ExtraFiles), and start waits for the daemon to answer instead.
func readyPipe(cmd *exec.Cmd) (r, w *os.File, args []string, err error) {
	return nil, nil, nil, nil
}

// detach starts cmd, the master daemon, in a process group of its own, so
// that a Ctrl-C in the console that started it does not reach it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// terminate stops the process pid. Windows has no SIGTERM to send another
// process: this kills it, which `stop` uses only when the master did not
// answer its Stop request.
func terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer p.Release()
	return p.Kill()
}

// alive reports whether the process pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
