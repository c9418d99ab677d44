package netns

import (
	"os"
	"os/exec"
	"sync"
	"testing"
)

var (
	usableOnce sync.Once
	usableErr  string
)

// NeedRoot skips t unless the process is root, `ip` is installed and a
// named namespace can actually be created here.
func NeedRoot(t testing.TB) {
	t.Helper()
	usableOnce.Do(func() {
		if os.Geteuid() != 0 {
			usableErr = "needs root: network namespaces"
			return
		}
		if _, err := exec.LookPath("ip"); err != nil {
			usableErr = "needs the ip binary (iproute2)"
			return
		}
		n, err := New(UniqueName("probe"))
		if err != nil {
			usableErr = "network namespaces unusable: " + err.Error()
			return
		}
		if err := n.Close(); err != nil {
			usableErr = "network namespaces unusable: " + err.Error()
		}
	})
	if usableErr != "" {
		t.Skip(usableErr)
	}
}

// PairForTest returns a fresh Pair that is deleted when t ends, even if
// the test fails or a re-executed child crashes.
func PairForTest(t testing.TB) *Pair {
	t.Helper()
	NeedRoot(t)
	p, err := NewPair()
	if err != nil {
		t.Fatalf("netns pair: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("netns pair close: %v", err)
		}
	})
	return p
}
