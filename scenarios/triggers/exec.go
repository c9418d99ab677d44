package triggers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Exec runs a local command from an argv, with no shell unless the argv
// asks for one.
type Exec struct {
	Argv []string
	Env  []string // extra environment, KEY=VALUE
}

// Fire runs the command, with its stdout and stderr going to out. The
// command gets its own process group, so that cancelling ctx kills the
// whole tree ("sh -c 'sleep 100'" leaves no orphan sleeping on).
func (e *Exec) Fire(ctx context.Context, out io.Writer) (Outcome, error) {
	if len(e.Argv) == 0 {
		return Outcome{ExitCode: -1}, errors.New("exec: empty argv")
	}
	cmd := exec.CommandContext(ctx, e.Argv[0], e.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(cmd.Environ(), e.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Negative pid: the process group started above.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// Output pipes held open by a grandchild must not hang us.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if err == nil {
		return Outcome{ExitCode: code}, nil
	}
	if ctx.Err() != nil {
		return Outcome{ExitCode: code}, ctx.Err()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return Outcome{ExitCode: code}, fmt.Errorf("exit status %d", code)
	}
	return Outcome{ExitCode: code}, err
}

// Wait is a pause in the timeline.
type Wait struct{ Duration time.Duration }

// Fire sleeps for the duration, or until ctx is done.
func (w *Wait) Fire(ctx context.Context, _ io.Writer) (Outcome, error) {
	t := time.NewTimer(w.Duration)
	defer t.Stop()
	select {
	case <-t.C:
		return Outcome{ExitCode: -1}, nil
	case <-ctx.Done():
		return Outcome{ExitCode: -1}, ctx.Err()
	}
}
