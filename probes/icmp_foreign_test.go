package probes_test

import (
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// forgeReplies makes the server namespace stop answering echo requests
// itself and answer them instead from a raw socket, by ICMP seq:
//
//	seq%3 == 0: a reply with a wrong tracker in its payload, then the true
//	            reply, then the true reply again (a duplicate);
//	seq%3 == 1: a reply with a wrong tracker, and a true-looking reply for
//	            seq+1, which has not been sent yet;
//	seq%3 == 2: a reply with a foreign ICMP identifier.
//
// So exactly the attempts with seq%3 == 0 may count as answered.
func forgeReplies(t *testing.T, p *netns.Pair) {
	var conn *icmp.PacketConn
	err := p.Server.Do(func() error {
		if err := os.WriteFile("/proc/sys/net/ipv4/icmp_echo_ignore_all", []byte("1"), 0); err != nil {
			return err
		}
		var err error
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})
	if err != nil {
		t.Fatalf("forger in %s: %v", p.Server.Name, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				t.Errorf("forger read: %v", err)
				return
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEcho {
				continue
			}
			req := m.Body.(*icmp.Echo)
			for _, e := range forged(req) {
				b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: e}).Marshal(nil)
				if _, err := conn.WriteTo(b, from); err != nil {
					t.Errorf("forger write: %v", err)
				}
			}
		}
	})
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
}

// forged returns the replies the forger sends to req.
func forged(req *icmp.Echo) []*icmp.Echo {
	genuine := *req
	badTracker := *req
	badTracker.Data = append([]byte(nil), req.Data...)
	for i := 8; i < 24 && i < len(badTracker.Data); i++ { // pro-bing's tracker UUID
		badTracker.Data[i] ^= 0xff
	}
	switch req.Seq % 3 {
	case 0:
		return []*icmp.Echo{&badTracker, &genuine, &genuine}
	case 1:
		early := *req
		early.Seq = (req.Seq + 1) & 0xffff
		return []*icmp.Echo{&badTracker, &early}
	default:
		foreignID := *req
		foreignID.ID ^= 0x5555
		return []*icmp.Echo{&foreignID}
	}
}

func TestICMPNetnsForeignReplies(t *testing.T) {
	for _, privileged := range []bool{true, false} {
		name := "raw"
		if !privileged {
			name = "unprivileged"
		}
		t.Run(name, func(t *testing.T) {
			inClient(t, forgeReplies, func(t *testing.T, l lab) {
				if !privileged {
					allowUnprivilegedPing(t)
				}
				spec := icmpSpec(l.server4.String(), 20*time.Millisecond, 100*time.Millisecond)
				p := newICMP(t, spec, probes.ICMPConfig{Privileged: &privileged})
				if p.Privileged() != privileged {
					t.Fatalf("asked for privileged=%v, got %v", privileged, p.Privileged())
				}
				r := start(p)
				time.Sleep(600 * time.Millisecond)
				ss := r.stop(t)
				checkSamples(t, spec, ss)
				answered := 0
				for _, s := range ss {
					// One pinger and no send error: our Seq is the ICMP seq.
					want := s.Seq%3 == 0
					if s.Lost == want {
						t.Errorf("Seq %d: lost=%v (%s), want answered=%v", s.Seq, s.Lost, s.Err, want)
					}
					if !s.Lost {
						answered++
					}
				}
				t.Logf("%d attempts, %d answered by a true forged reply, every foreign one ignored", len(ss), answered)
				if answered == 0 {
					t.Error("no attempt answered: the forger is not reaching the probe, so this proves nothing")
				}
			})
		})
	}
}
