package triggers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Bounds on the clean-up after a command: how long to wait for the
// command's PID, for a kill or the session's end once it was stopped, and
// for the connection's own error once a session ended without an exit
// status. None of them delays a command that ends by itself.
const (
	pidWait        = 2 * time.Second
	sessionEndWait = 2 * time.Second
	connErrWait    = 2 * time.Second
)

// maxPending bounds the stderr bytes held back while looking for the PID
// line.
const maxPending = 64 << 10

// SSHExec runs command in a new session of client, through the remote
// user's login shell (which must be a POSIX shell), and streams its stdout
// and stderr to out as they arrive. It returns the exit status, or -1 when
// there is none.
//
// Exit 0 is a nil error; another status is the error "exit status N". A
// session that ends without a status, or a connection lost on the way,
// gives an error with the transport's own words.
//
// When ctx ends first, SSHExec kills the command's whole process group
// with SIGKILL, closes the session and returns ctx.Err(); the client stays
// open for the caller to close. It asks twice: with an SSH "signal"
// request, which OpenSSH honours for ordinary users but refuses for root
// ("session signalling requires privilege separation"), and with `kill`
// in a second session, aimed at the PID the shell announced as it started
// (the command runs as `printf ... "$$" >&2; eval COMMAND`, and the
// announcement is taken out of the output). Nothing is written to out
// after SSHExec returns.
func SSHExec(ctx context.Context, client *ssh.Client, command string, out io.Writer) (int, error) {
	return execRemote(ctx, client, command, out, execOpts{posix: true})
}

// execOpts tunes execRemote.
type execOpts struct {
	// posix wraps the command so that its shell announces its PID, which
	// makes killing work where SSH signals do not.
	posix bool
	// grace > 0 stops a cancelled command with SIGINT first (virsh then
	// aborts its migration job) and SIGKILL only grace later.
	grace time.Duration
}

func execRemote(ctx context.Context, client *ssh.Client, command string, out io.Writer, o execOpts) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	where := "ssh " + client.RemoteAddr().String()
	sess, err := client.NewSession()
	if err != nil {
		var refused *ssh.OpenChannelError
		if !errors.As(err, &refused) {
			err = connErr(client, err)
		}
		return -1, fmt.Errorf("%s: open session: %w", where, err)
	}
	defer sess.Close()
	w := &gatedWriter{w: out}
	defer w.shut()
	sess.Stdout, sess.Stderr = w, w
	var pids *pidFilter
	if o.posix {
		pids = newPIDFilter(w)
		defer pids.flush()
		sess.Stderr = pids
		command = pids.wrap(command)
	}
	if err := sess.Start(command); err != nil {
		return -1, fmt.Errorf("%s: start command: %w", where, connErr(client, err))
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	select {
	case err := <-done:
		return exitResult(where, client, err)
	case <-ctx.Done():
	}
	stop := func(sig ssh.Signal) {
		fmt.Fprintf(w, "%s: stopping the remote command (SIG%s)\n", where, sig)
		_ = sess.Signal(sig)
		if pid := pids.wait(pidWait); pid > 0 {
			killGroup(client, pid, sig)
		}
	}
	if o.grace > 0 {
		stop(ssh.SIGINT)
		t := time.NewTimer(o.grace)
		select {
		case err := <-done:
			t.Stop()
			code, _ := exitResult(where, client, err)
			return code, ctx.Err()
		case <-t.C:
		}
	}
	stop(ssh.SIGKILL)
	_ = sess.Close()
	// The session normally ends at once; on a dead network it may not, and
	// the caller must not wait for that.
	select {
	case err := <-done:
		code, _ := exitResult(where, client, err)
		return code, ctx.Err()
	case <-time.After(sessionEndWait):
		return -1, ctx.Err()
	}
}

// killGroup sends sig to process group pgid on the remote host, from a
// session of its own, giving up after sessionEndWait (opening a session
// waits for the server, which may be unreachable by now).
func killGroup(client *ssh.Client, pgid int, sig ssh.Signal) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		sess, err := client.NewSession()
		if err != nil {
			return
		}
		defer sess.Close()
		_ = sess.Run(fmt.Sprintf("kill -s %s -- -%d", sig, pgid))
	}()
	select {
	case <-done:
	case <-time.After(sessionEndWait):
	}
}

// exitResult turns what Session.Wait returned into an exit code and error.
func exitResult(where string, client *ssh.Client, err error) (int, error) {
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		code := exitErr.ExitStatus()
		msg := "exit status " + strconv.Itoa(code)
		if sig := exitErr.Signal(); sig != "" {
			msg += " (signal " + sig + ")"
		}
		return code, errors.New(msg)
	default:
		return -1, fmt.Errorf("%s: %w", where, connErr(client, err))
	}
}

// connErr returns the connection's own error if the connection has died
// (a reset says more than "exited without exit status"), or else err.
func connErr(client *ssh.Client, err error) error {
	died := make(chan error, 1)
	// Wait returns when the connection closes. If it stays up, this
	// goroutine ends when the caller closes the client.
	go func() { died <- client.Wait() }()
	select {
	case cerr := <-died:
		if cerr == nil || errors.Is(cerr, io.EOF) {
			return fmt.Errorf("connection closed by the remote host (%w)", err)
		}
		return fmt.Errorf("connection lost: %w", cerr)
	case <-time.After(connErrWait):
		return err
	}
}

// pidFilter passes the command's stderr on, minus the line in which the
// wrapping shell announced its PID, and remembers that PID. The shell is
// the session's leader, so the PID is also the process group of
// everything the command starts (that does not leave the group itself).
type pidFilter struct {
	w      io.Writer
	marker []byte // random per command, so no output can forge it
	found  chan struct{}

	mu   sync.Mutex
	buf  []byte
	done bool // found, or given up: pass everything through
	pid  int
}

func newPIDFilter(w io.Writer) *pidFilter {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	return &pidFilter{w: w, marker: []byte("downtime-pid-" + hex.EncodeToString(nonce) + ":"), found: make(chan struct{})}
}

// wrap makes command's shell announce its PID on stderr, then run command
// in the same process.
func (f *pidFilter) wrap(command string) string {
	return `printf '%s%d\n' ` + ShellQuote(string(f.marker)) + ` "$$" >&2; eval ` + ShellQuote(command)
}

func (f *pidFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return f.w.Write(p)
	}
	f.buf = append(f.buf, p...)
	for !f.done {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			if len(f.buf) > maxPending {
				return len(p), f.release()
			}
			return len(p), nil
		}
		line := f.buf[:i+1]
		if rest, ok := bytes.CutPrefix(line, f.marker); ok {
			if pid, err := strconv.Atoi(string(bytes.TrimSpace(rest))); err == nil && pid > 1 {
				f.pid = pid
				close(f.found)
				f.buf = f.buf[i+1:]
				return len(p), f.release()
			}
		}
		if _, err := f.w.Write(line); err != nil {
			return len(p), err
		}
		f.buf = f.buf[i+1:]
	}
	return len(p), nil
}

// release writes what is held back and lets everything through from now on.
func (f *pidFilter) release() error {
	f.done = true
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.w.Write(f.buf)
	f.buf = nil
	return err
}

// flush writes a partial line still held back.
func (f *pidFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.release()
}

// wait returns the announced PID, waiting up to limit for it; 0 if there
// is none (f may be nil: no wrapping).
func (f *pidFilter) wait(limit time.Duration) int {
	if f == nil {
		return 0
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-f.found:
	case <-t.C:
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pid
}

// gatedWriter serialises the session's stdout and stderr copies into one
// writer, and drops whatever they still deliver once shut: the caller's
// writer may be closed as soon as the command's function returns.
type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gatedWriter) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
