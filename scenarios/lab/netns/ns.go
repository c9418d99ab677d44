// Package netns builds throwaway test hosts out of Linux network namespaces:
// named namespaces (visible to `ip netns exec`), veth pairs between them,
// link state changes and nftables-based outages driven over netlink, so that
// injecting a fault spawns no process and its instant is known precisely.
//
// Everything here needs root. Names carry a per-process random prefix (see
// UniqueName) so that parallel runs on one machine never collide.
package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
)

// runDir is where `ip netns` and vishvananda/netns keep named namespaces.
const runDir = "/run/netns"

// ifNameMax is IFNAMSIZ minus the trailing NUL.
const ifNameMax = 15

var (
	prefixOnce sync.Once
	prefix     string
	counter    atomic.Uint64
)

// Prefix is the per-process prefix every UniqueName starts with.
func Prefix() string {
	prefixOnce.Do(func() {
		b := make([]byte, 2)
		if _, err := rand.Read(b); err != nil {
			// Not fatal: the pid still separates concurrent processes.
			b = []byte{byte(os.Getpid() >> 8), byte(os.Getpid())}
		}
		prefix = "dt" + hex.EncodeToString(b)
	})
	return prefix
}

// UniqueName returns a short name, unique within this process and very
// likely across processes ("dt" + random + counter + "-" + role). It fits
// IFNAMSIZ (15 bytes), so it is valid for both namespaces and interfaces; a
// long role is truncated, which keeps the name unique thanks to the counter.
func UniqueName(role string) string {
	base := Prefix() + strconv.FormatUint(counter.Add(1), 36) + "-"
	if room := ifNameMax - len(base); len(role) > room {
		role = role[:max(room, 0)]
	}
	return base + role
}

// NS is a named network namespace.
type NS struct {
	Name string

	mu     sync.Mutex
	closed bool
}

// New creates a named namespace, like `ip netns add NAME`, and brings its
// loopback up.
func New(name string) (*NS, error) {
	if name == "" || len(name) > 255 || filepath.Base(name) != name || name == "." || name == ".." {
		return nil, fmt.Errorf("netns: invalid namespace name %q", name)
	}
	errc := make(chan error, 1)
	go func() {
		// NewNamed unshares the calling thread into the new namespace. The
		// thread stays locked and dies with this goroutine, so no other
		// goroutine ever runs inside the wrong namespace.
		runtime.LockOSThread()
		h, err := vns.NewNamed(name)
		if err != nil {
			if !errors.Is(err, os.ErrExist) {
				_ = os.Remove(filepath.Join(runDir, name)) // a file left by a failed mount
			}
			errc <- fmt.Errorf("netns: create %s: %w", name, err)
			return
		}
		defer h.Close()
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			_ = vns.DeleteNamed(name)
			errc <- fmt.Errorf("netns: %s: bring lo up: %w", name, err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return &NS{Name: name}, nil
}

// Close deletes the namespace, like `ip netns del`. It is idempotent. The
// kernel frees the namespace once no process or socket holds it any more.
func (n *NS) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	if err := vns.DeleteNamed(n.Name); err != nil && !errors.Is(err, os.ErrNotExist) {
		// EINVAL: not a mount point any more; remove the leftover file.
		if rmErr := os.Remove(filepath.Join(runDir, n.Name)); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			return fmt.Errorf("netns: delete %s: %w", n.Name, err)
		}
	}
	n.closed = true
	return nil
}

// Command returns a command that runs program name inside n, through
// `ip netns exec`. ip execs the program, so the command's PID is the
// program's own.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on a locked OS thread switched into n. Use it for short setup
// only (opening a socket, a netlink call): sockets opened in fn stay in n.
func (n *NS) Do(fn func() error) error {
	return doIn(n.Name, fn)
}

func doIn(nsName string, fn func() error) error {
	target, err := vns.GetFromName(nsName)
	if err != nil {
		return fmt.Errorf("netns: open %s: %w", nsName, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vns.Get()
		if err != nil {
			errc <- fmt.Errorf("netns: current namespace: %w", err)
			return // thread dies locked; harmless
		}
		defer orig.Close()
		if err := vns.Set(target); err != nil {
			errc <- fmt.Errorf("netns: enter %s: %w", nsName, err)
			return
		}
		ferr := fn()
		if err := vns.Set(orig); err != nil {
			// Leave the thread locked: it exits with this goroutine instead
			// of going back to the scheduler in the wrong namespace.
			errc <- errors.Join(ferr, fmt.Errorf("netns: leave %s: %w", nsName, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// handle opens a netlink handle bound to the named namespace; the caller
// closes it.
func handle(nsName string) (*netlink.Handle, error) {
	nsh, err := vns.GetFromName(nsName)
	if err != nil {
		return nil, fmt.Errorf("netns: open %s: %w", nsName, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return nil, fmt.Errorf("netns: netlink in %s: %w", nsName, err)
	}
	return h, nil
}
