package netns

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Environment of a re-executed test child.
const (
	childEnv     = "DT_NETNS_CHILD"
	childEnvPref = "DT_NETNS_ENV_"
)

// InChild reports whether this test binary is a child started by RunTestIn.
func InChild() bool { return os.Getenv(childEnv) == "1" }

// ChildEnv returns the value the parent passed under key to RunTestIn.
func ChildEnv(key string) string { return os.Getenv(childEnvPref + key) }

// RunTestIn re-runs the current test (t.Name(), subtests included) in a new
// process of this test binary, inside namespace ns via `ip netns exec`.
// Sockets belong to the namespace of the thread that opens them, so this is
// how a test probes from inside a namespace with ordinary code.
//
// env is passed to the child, which reads it with ChildEnv. The child's
// output goes to t.Log line by line. t fails if the child fails or runs no
// matching test, and is skipped if the child skipped. The parent keeps
// ownership of everything it created (register cleanups before calling),
// so a crashing child leaves nothing behind.
func RunTestIn(t *testing.T, ns *NS, env map[string]string) {
	t.Helper()
	if InChild() {
		t.Fatal("netns: RunTestIn called inside a child; guard the parent part with !netns.InChild()")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("netns: find test binary: %v", err)
	}
	ctx := context.Background()
	args := []string{"-test.run", runPattern(t.Name()), "-test.v", "-test.count=1"}
	if dl, ok := t.Deadline(); ok {
		// Stop the child a little before the parent's own deadline so the
		// parent can still report and clean up.
		remaining := time.Until(dl) * 9 / 10
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, remaining)
		defer cancel()
		args = append(args, "-test.timeout", remaining.String())
	}
	cmd := ns.Command(ctx, exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, childEnvPref+k+"="+v)
	}
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw

	passed, skipped := "--- PASS: "+t.Name()+" ", "--- SKIP: "+t.Name()+" "
	var sawPass, sawSkip bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			trimmed := strings.TrimSpace(line)
			sawPass = sawPass || strings.HasPrefix(trimmed, passed)
			sawSkip = sawSkip || strings.HasPrefix(trimmed, skipped)
			t.Log("child| " + line)
		}
		_, _ = io.Copy(io.Discard, pr) // a line over 1 MiB: drain the rest
	}()
	err = cmd.Run()
	_ = pw.Close()
	<-done
	var exitErr *exec.ExitError
	switch {
	case err != nil && errors.As(err, &exitErr):
		t.Fatalf("netns: child test in %s failed: %v", ns.Name, err)
	case err != nil:
		t.Fatalf("netns: run child test in %s: %v", ns.Name, err)
	case sawSkip && !sawPass:
		t.Skip("netns: child test skipped (see its output above)")
	case !sawPass:
		t.Fatalf("netns: child in %s ran no test matching %q", ns.Name, t.Name())
	}
}

// runPattern turns a test name ("TestX/sub_case") into a -test.run pattern
// matching exactly that test: -test.run splits on "/" level by level.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
