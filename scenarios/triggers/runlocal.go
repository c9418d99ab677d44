package triggers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// runLocal runs argv here, without a shell, with its output to out. When
// ctx ends, its process group gets SIGINT and, grace later (at once if
// grace is 0), SIGKILL.
func runLocal(ctx context.Context, argv, env []string, out io.Writer, grace time.Duration) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	w := &gatedWriter{w: out}
	defer w.shut()
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Output pipes held open by a grandchild must not hang us.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return -1, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// Negative pid: the process group started above.
		pgid := -cmd.Process.Pid
		exited := false
		if grace > 0 {
			fmt.Fprintf(w, "stopping %s (SIGINT)\n", argv[0])
			_ = syscall.Kill(pgid, syscall.SIGINT)
			t := time.NewTimer(grace)
			select {
			case <-done:
				exited = true
			case <-t.C:
			}
			t.Stop()
		}
		if !exited {
			fmt.Fprintf(w, "stopping %s (SIGKILL)\n", argv[0])
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-done
		}
		return exitCode(cmd), ctx.Err()
	}
	code := exitCode(cmd)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return code, nil
	case errors.As(err, &exitErr) && code >= 0:
		return code, fmt.Errorf("exit status %d", code)
	default:
		return code, err
	}
}

func exitCode(cmd *exec.Cmd) int {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}
