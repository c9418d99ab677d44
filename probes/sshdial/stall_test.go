package sshdial

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// A hostile server that sends its banner, reads the client's key
// exchange and then stalls mid-handshake: Dial gives up at its deadline
// instead of hanging.
func TestDialStallAfterBanner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		held []net.Conn
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			_, _ = io.WriteString(c, "SSH-2.0-stall_1.0\r\n")
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c) // take the KEXINIT, answer nothing
			}()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	key, _ := newKey(t, "", 0o600)
	host, port := splitAddr(t, ln.Addr().String())
	cfg := Config{Host: host, Port: port, User: "probe", IdentityFile: key, InsecureIgnoreHostKey: true, Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "handshake timed out after 300ms") {
		t.Fatalf("err = %v, want handshake timed out after 300ms", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("returned after %v, before the deadline", took)
	}
}
