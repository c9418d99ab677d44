package sshdial

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Watch keeps an eye on a client used for a long command: a path that
// silently drops everything (no RST, no FIN) would otherwise hang a
// session until some outer timeout. Every interval it sends a
// keepalive@openssh.com request; one not answered within timeout closes
// the client, so every session on it fails at once, and Err then says why.
type Watch struct {
	stop func()
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// WatchClient starts watching c until Stop is called or ctx ends.
func WatchClient(ctx context.Context, c *ssh.Client, interval, timeout time.Duration) *Watch {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watch{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			answered := make(chan struct{})
			go func() {
				// The reply (even a refusal) proves the path is alive.
				c.SendRequest("keepalive@openssh.com", true, nil)
				close(answered)
			}()
			select {
			case <-answered:
			case <-ctx.Done():
				return
			case <-time.After(timeout):
				w.mu.Lock()
				w.err = fmt.Errorf("connection lost: no answer to an SSH keepalive for %s", timeout)
				w.mu.Unlock()
				c.Close()
				return
			}
		}
	}()
	return w
}

// Stop ends the watch and waits for it.
func (w *Watch) Stop() {
	w.stop()
	<-w.done
}

// Err is why the watch closed the client, or nil.
func (w *Watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
