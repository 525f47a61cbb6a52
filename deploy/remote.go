package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// session is one SSH connection to a host, running POSIX sh scripts in its
// working directory.
type session struct {
	client  *ssh.Client
	stop    func() bool // stops closing the client when ctx ends
	dir     string      // absolute working directory on the host; "" before prepare
	secrets []string    // scrubbed from what the host's logs say
}

func (s *session) close() {
	s.stop()
	s.client.Close()
}

// run runs a script with /bin/sh on the host and returns its stdout; an
// error carries its stderr. Without stdin the script travels on stdin, so
// that only sh parses it whatever the user's login shell; with stdin (the
// data to write) the script must be one line, passed to sh -c. Scripts never
// hold a secret: secrets go in stdin.
func (s *session) run(ctx context.Context, script string, stdin io.Reader) (string, error) {
	ss, err := s.client.NewSession()
	if err != nil {
		return "", err
	}
	defer ss.Close()
	defer context.AfterFunc(ctx, func() { ss.Close() })()
	var out, errb bytes.Buffer
	ss.Stdout, ss.Stderr = &out, &errb
	cmd := "/bin/sh -s"
	if stdin == nil {
		ss.Stdin = strings.NewReader(script)
	} else {
		ss.Stdin = stdin
		cmd = "/bin/sh -c " + shellQuote(script)
	}
	err = ss.Run(cmd)
	if ctx.Err() != nil {
		return out.String(), ctx.Err()
	}
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), errors.New(msg)
	}
	return out.String(), nil
}

// remoteDir turns workingDir into a path for cd after a bare cd (home).
func remoteDir(wd string) string {
	if wd == "~" {
		return "."
	}
	return strings.TrimPrefix(wd, "~/")
}

// state is what prepare found on the host.
type state struct {
	dir     string
	sum     string // SHA-256 of bin/ferry; "" when absent
	availKB int64  // free space in the working directory; -1 unknown
}

// prepare creates the working directory and its bin, conf and logs
// subdirectories, and reports the binary's checksum and the free space.
func (s *session) prepare(ctx context.Context, wd string) (state, error) {
	out, err := s.run(ctx, fmt.Sprintf(`set -e
cd 2>/dev/null || true
mkdir -p -- %[1]s
cd -- %[1]s
mkdir -p bin conf logs
echo "dir:$(pwd)"
if [ -f bin/ferry ] && command -v sha256sum >/dev/null 2>&1; then echo "sum:$(sha256sum < bin/ferry | cut -c1-64)"; fi
echo "avail:$(df -Pk . 2>/dev/null | awk 'NR==2 {print $4}')"
`, shellQuote(remoteDir(wd))), nil)
	st := state{availKB: -1}
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "dir":
			st.dir = v
		case "sum":
			st.sum = v
		case "avail":
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				st.availKB = n
			}
		}
	}
	if !path.IsAbs(st.dir) {
		return st, fmt.Errorf("unexpected output %q", out)
	}
	s.dir = st.dir
	return st, nil
}

// dirOf finds the working directory without creating it; s.dir stays ""
// when there is none.
func (s *session) dirOf(ctx context.Context, wd string) (string, error) {
	out, err := s.run(ctx, fmt.Sprintf("cd 2>/dev/null || true\nif cd -- %s 2>/dev/null; then pwd; fi\n", shellQuote(remoteDir(wd))), nil)
	s.dir = strings.TrimSpace(out)
	return s.dir, err
}

// upload streams the binary into bin/ferry: a temporary file, checked, then
// renamed over the old one (which a running worker may still execute).
func (s *session) upload(ctx context.Context, bin binary) error {
	f, err := os.Open(bin.path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.run(ctx, fmt.Sprintf(`cd -- %s && t=bin/.ferry.new && rm -f $t && cat > $t && chmod 755 $t && s=$(sha256sum < $t | cut -c1-64) && `+
		`if [ "$s" != %[2]s ]; then rm -f $t; echo "checksum after upload is $s, want %[2]s" >&2; exit 1; fi && mv -f $t bin/ferry && echo %[2]s > bin/ferry.sha256`,
		shellQuote(s.dir), bin.sum), f)
	return err
}

// remoteFile is a file deploy writes under the working directory.
type remoteFile struct {
	name string // relative, e.g. "conf/token"
	mode os.FileMode
	data []byte
}

// writeFile writes f from stdin into a new file (umask 077 from the start,
// so a secret is never readable by others) and renames it into place.
func (s *session) writeFile(ctx context.Context, f remoteFile) error {
	tmp := path.Join(path.Dir(f.name), "."+path.Base(f.name)+".new")
	_, err := s.run(ctx, fmt.Sprintf("umask 077 && cd -- %[1]s && rm -f %[2]s && cat > %[2]s && chmod %[3]o %[2]s && mv -f %[2]s %[4]s",
		shellQuote(s.dir), shellQuote(tmp), f.mode, shellQuote(f.name)), bytes.NewReader(f.data))
	return err
}

// aliveFn is a shell function: is pid $1 running (not a zombie)?
const aliveFn = `alive() { kill -0 "$1" 2>/dev/null || return 1; [ "$(sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -c1)" != Z ]; }
`

// stopWorker stops the worker of the pid file, if it runs and is this
// working directory's ferry: SIGTERM, then SIGKILL after timeout.
func (s *session) stopWorker(ctx context.Context, timeout time.Duration) (string, error) {
	if s.dir == "" {
		return "no worker running (no working directory)", nil
	}
	tenths := int(timeout / (100 * time.Millisecond))
	out, err := s.run(ctx, aliveFn+fmt.Sprintf(`cd -- %s || exit 1
[ -f worker.pid ] || { echo "no worker running"; exit 0; }
pid=$(cat worker.pid)
case "$pid" in ''|*[!0-9]*) rm -f worker.pid; echo "no worker running"; exit 0;; esac
if ! alive "$pid" || { [ -r /proc/$pid/cmdline ] && ! tr '\0' ' ' < /proc/$pid/cmdline | grep -qF -- %s; }; then
	rm -f worker.pid; echo "no worker running (stale pid file: $pid)"; exit 0
fi
kill -TERM "$pid" 2>/dev/null || true
i=0
while alive "$pid" && [ $i -lt %d ]; do sleep 0.1; i=$((i+1)); done
if alive "$pid"; then
	kill -KILL "$pid" 2>/dev/null || true; rm -f worker.pid; echo "killed worker pid $pid (still running %v after SIGTERM)"
else
	rm -f worker.pid; echo "stopped worker pid $pid"
fi
`, shellQuote(s.dir), shellQuote(s.dir+"/bin/ferry"), tenths, timeout), nil)
	return strings.TrimSpace(out), err
}

// startWorker starts the worker detached from the SSH session, in its own
// session (setsid), immune to hangups, with the token passed as a file, and
// returns its pid. The inner sh writes its own pid and then execs ferry, so
// the pid file is right whether or not setsid forks.
func (s *session) startWorker(ctx context.Context, master, id string, withCA bool) (int, error) {
	d := s.dir
	args := []string{d + "/bin/ferry", "--home", d, "--sys", d + "/conf/sys.properties", "worker",
		"--master", master, "--token-file", d + "/conf/token", "--id", id}
	if withCA {
		args = append(args, "--cert-file", d+"/conf/tls.crt")
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	out, err := s.run(ctx, fmt.Sprintf(`cd -- %s || exit 1
[ -f logs/worker.out ] && mv -f logs/worker.out logs/worker.out.1
rm -f worker.pid worker.pid.new
S=; command -v setsid >/dev/null 2>&1 && S=setsid
nohup $S /bin/sh -c 'echo $$ > worker.pid.new && mv -f worker.pid.new worker.pid && exec "$@"' ferry-worker %s > logs/worker.out 2>&1 < /dev/null &
i=0
while [ ! -f worker.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
cat worker.pid 2>/dev/null || { echo "the worker wrote no pid file within 10s" >&2; exit 1; }
`, shellQuote(d), strings.Join(args, " ")), nil)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return 0, fmt.Errorf("unexpected pid file %q", strings.TrimSpace(out))
	}
	return pid, nil
}

// alive reports whether pid runs on the host.
func (s *session) alive(ctx context.Context, pid int) (bool, error) {
	out, err := s.run(ctx, aliveFn+fmt.Sprintf("if alive %d; then echo yes; else echo no; fi\n", pid), nil)
	return strings.TrimSpace(out) == "yes", err
}

// logTail is "; worker.out: <last lines>" or "" when there is nothing,
// with secrets scrubbed.
func (s *session) logTail(ctx context.Context) string {
	if s.dir == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	out, _ := s.run(ctx, fmt.Sprintf("cd -- %s && tail -n 5 logs/worker.out 2>/dev/null\n", shellQuote(s.dir)), nil)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	tail := scrub(strings.Join(lines, " | "), s.secrets)
	if len(tail) > 300 {
		tail = "..." + tail[len(tail)-300:]
	}
	return "; " + s.dir + "/logs/worker.out: " + tail
}

// uploadReason tells a full disk from other write failures.
func uploadReason(err error) string {
	if strings.Contains(err.Error(), "No space left") || strings.Contains(err.Error(), "Disk quota exceeded") {
		return ReasonNoSpace
	}
	return ReasonUpload
}

// shellQuote quotes s for POSIX sh; plain words stay as they are.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// scrub replaces every secret in s with "******".
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "******")
		}
	}
	return s
}

// oneLine folds s to one line of at most 600 bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:597] + "..."
	}
	return s
}
