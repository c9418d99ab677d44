package netns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for _, role := range []string{"", "c", "server", "a-very-long-role-name-indeed"} {
		for range 50 {
			n := UniqueName(role)
			if len(n) > ifNameMax {
				t.Fatalf("UniqueName(%q) = %q: longer than %d", role, n, ifNameMax)
			}
			if !strings.HasPrefix(n, Prefix()) {
				t.Fatalf("UniqueName(%q) = %q: lacks prefix %q", role, n, Prefix())
			}
			if seen[n] {
				t.Fatalf("UniqueName(%q) = %q twice", role, n)
			}
			seen[n] = true
		}
	}
}

func TestRunPattern(t *testing.T) {
	for in, want := range map[string]string{
		"TestX":          "^TestX$",
		"TestX/sub_a":    "^TestX$/^sub_a$",
		"TestX/v4.(a)#1": `^TestX$/^v4\.\(a\)#1$`,
	} {
		if got := runPattern(in); got != want {
			t.Errorf("runPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// ping sends one echo request from ns to addr with `ping`, the oracle that
// does not share code with this package.
func ping(ctx context.Context, n *NS, addr netip.Addr, wait time.Duration) error {
	secs := max(int(wait/time.Second), 1)
	return n.Command(ctx, "ping", "-n", "-q", "-c", "1", "-W", strconv.Itoa(secs), addr.String()).Run()
}

func needPing(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping (iputils-ping)")
	}
}

func TestPairPing(t *testing.T) {
	needPing(t)
	p := PairForTest(t)
	ctx := context.Background()
	for _, c := range []struct {
		from *NS
		to   netip.Addr
	}{{p.Client, p.Server4}, {p.Client, p.Server6}, {p.Server, p.Client4}, {p.Server, p.Client6}} {
		if err := ping(ctx, c.from, c.to, time.Second); err != nil {
			t.Errorf("ping %s from %s: %v", c.to, c.from.Name, err)
		}
	}
}

func TestBlocker(t *testing.T) {
	needPing(t)
	p := PairForTest(t)
	ctx := context.Background()
	b, err := NewBlocker(p.Server.Name, p.Client4, p.Client6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	for _, dst := range []netip.Addr{p.Server4, p.Server6} {
		if err := ping(ctx, p.Client, dst, time.Second); err != nil {
			t.Fatalf("before block: ping %s: %v", dst, err)
		}
	}
	var blockLat, unblockLat []time.Duration
	for range 5 {
		t0 := time.Now()
		if _, err := b.Block(); err != nil {
			t.Fatal(err)
		}
		blockLat = append(blockLat, time.Since(t0))
		t0 = time.Now()
		if _, err := b.Unblock(); err != nil {
			t.Fatal(err)
		}
		unblockLat = append(unblockLat, time.Since(t0))
	}
	t.Logf("Block() took %v, Unblock() took %v", blockLat, unblockLat)

	if _, err := b.Block(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Block(); err != nil { // twice: must not stack or fail
		t.Fatal(err)
	}
	for _, dst := range []netip.Addr{p.Server4, p.Server6} {
		if err := ping(ctx, p.Client, dst, time.Second); err == nil {
			t.Errorf("blocked: ping %s still answered", dst)
		}
	}
	if _, err := b.Unblock(); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []netip.Addr{p.Server4, p.Server6} {
		if err := ping(ctx, p.Client, dst, time.Second); err != nil {
			t.Errorf("unblocked: ping %s: %v", dst, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.Block(); err == nil {
		t.Error("Block after Close succeeded")
	}
}

func TestBridgeBlocker(t *testing.T) {
	NeedRoot(t)
	n, err := New(UniqueName("br"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	b, err := NewBridgeBlocker(n.Name, netip.MustParseAddr("10.9.9.9"), netip.MustParseAddr("fd00::9"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Block(); err != nil {
		t.Fatal(err)
	}
	out, err := n.Command(context.Background(), "nft", "list", "ruleset").CombinedOutput()
	if err == nil { // nft is only an optional witness
		s := string(out)
		if !strings.Contains(s, "table bridge") || strings.Count(s, "drop") != 2*2*4 {
			t.Errorf("unexpected ruleset:\n%s", s)
		}
	}
}

func TestOutage(t *testing.T) {
	p := PairForTest(t)
	start, end, err := Outage(p.Server.Name, 50*time.Millisecond, p.Client4)
	if err != nil {
		t.Fatal(err)
	}
	if d := end.Sub(start); d < 50*time.Millisecond {
		t.Errorf("outage lasted %v, want >= 50ms", d)
	}
}

func TestLinkSet(t *testing.T) {
	needPing(t)
	p := PairForTest(t)
	ctx := context.Background()
	if _, err := LinkSet(p.Client.Name, p.ClientIf, false); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, p.Client, p.Server4, time.Second); err == nil {
		t.Error("link down: ping still answered")
	}
	if _, err := LinkSet(p.Client.Name, p.ClientIf, true); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, p.Client, p.Server4, 2*time.Second); err != nil {
		t.Errorf("link up again: ping: %v", err)
	}
	if _, err := LinkSet(p.Client.Name, "nosuchif", true); err == nil {
		t.Error("LinkSet on a missing interface succeeded")
	}
}

// TestReexec runs its second half inside the client namespace: there the
// server is reachable directly and the root namespace's interfaces are not
// visible.
func TestReexec(t *testing.T) {
	if !InChild() {
		p := PairForTest(t)
		RunTestIn(t, p.Client, map[string]string{"SERVER": p.Server4.String(), "IF": p.ClientIf})
		return
	}
	if _, err := net.InterfaceByName(ChildEnv("IF")); err != nil {
		t.Fatalf("child does not see %s: %v", ChildEnv("IF"), err)
	}
	c, err := net.Dial("udp", net.JoinHostPort(ChildEnv("SERVER"), "9"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.UDPAddr).IP.String(); !strings.HasPrefix(got, "10.") {
		t.Errorf("child's source address %s is not the pair's", got)
	}
}

func TestReexecSubtestAndSkip(t *testing.T) {
	t.Run("skips", func(t *testing.T) {
		if !InChild() {
			p := PairForTest(t)
			RunTestIn(t, p.Client, nil)
			t.Error("parent not skipped after the child skipped")
			return
		}
		t.Skip("child skips on purpose")
	})
}

func TestCloseIdempotentNoLeak(t *testing.T) {
	NeedRoot(t)
	p, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{p.Client.Name, p.Server.Name} {
		if _, err := os.Stat(runDir + "/" + n); !os.IsNotExist(err) {
			t.Errorf("%s still in %s: %v", n, runDir, err)
		}
	}
}

// TestMain checks, after all tests of a parent process, that `ip netns list`
// holds none of this run's namespaces.
func TestMain(m *testing.M) {
	code := m.Run()
	if !InChild() && os.Geteuid() == 0 {
		if out, err := exec.Command("ip", "netns", "list").Output(); err == nil && strings.Contains(string(out), Prefix()) {
			os.Stderr.WriteString("leaked namespaces:\n" + string(out))
			code = 1
		}
	}
	os.Exit(code)
}
