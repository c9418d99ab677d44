package probes_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
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

// Payload offsets of an ICMPGroup echo request, within the echo data (see
// ICMPGroup): cookie, our Seq, target index.
const (
	grpCookieAt = 0
	grpSeqAt    = 8
	grpIndexAt  = 16
)

// grpForger answers echo requests in the server namespace in place of the
// kernel, with one forged reply of each kind the group must ignore, and,
// by our Seq modulo 3: 0 the right reply twice, 1 the right reply after
// late, 2 no right reply at all.
func grpForger(t *testing.T, p *netns.Pair, late time.Duration) {
	t.Helper()
	err := p.Server.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/icmp_echo_ignore_all", []byte("1"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	var c *icmp.PacketConn
	if err := p.Server.Do(func() (err error) {
		c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { c.Close(); wg.Wait() })
	// Each reply leaves from the address its request went to, as the
	// kernel's would.
	pc := c.IPv4PacketConn()
	if err := pc.SetControlMessage(ipv4.FlagDst, true); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, cm, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if cm == nil {
				continue
			}
			src := &ipv4.ControlMessage{Src: cm.Dst}
			send := func(to net.Addr, id, seq int, data []byte) {
				b, err := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}).Marshal(nil)
				if err == nil {
					pc.WriteTo(b, src, to) // fails once the test is over: fine
				}
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEcho {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok || len(e.Data) < grpIndexAt+4 {
				continue
			}
			seq := binary.BigEndian.Uint64(e.Data[grpSeqAt:])
			idx := binary.BigEndian.Uint32(e.Data[grpIndexAt:])
			forged := func(f func(d []byte)) []byte {
				d := bytes.Clone(e.Data)
				f(d)
				return d
			}
			send(from, e.ID, e.Seq, forged(func(d []byte) { d[grpCookieAt] ^= 0xff }))
			send(from, (e.ID+1)&0xffff, e.Seq, e.Data)
			send(from, e.ID, (e.Seq+1)&0xffff, e.Data) // wire seq disagrees with ours
			send(from, e.ID, int(uint16(seq+1000)), forged(func(d []byte) { binary.BigEndian.PutUint64(d[grpSeqAt:], seq+1000) }))
			send(from, e.ID, e.Seq, forged(func(d []byte) { binary.BigEndian.PutUint32(d[grpIndexAt:], idx^1) }))
			switch seq % 3 {
			case 0:
				send(from, e.ID, e.Seq, e.Data)
				send(from, e.ID, e.Seq, e.Data)
			case 1:
				id, wseq, data := e.ID, e.Seq, bytes.Clone(e.Data)
				wg.Add(1)
				time.AfterFunc(late, func() { defer wg.Done(); send(from, id, wseq, data) })
			}
		}
	})
}

// TestICMPGroupForeignReplies checks that a group counts only the right
// reply to a pending attempt: forged cookies, identifiers, wire seqs, Seqs
// and target indexes (a reply from one target claiming to be another's)
// are ignored, and so are duplicates and answers after the timeout.
func TestICMPGroupForeignReplies(t *testing.T) {
	const (
		interval = 50 * time.Millisecond
		timeout  = 200 * time.Millisecond
	)
	for _, priv := range []bool{true, false} {
		t.Run(fmt.Sprintf("privileged=%v", priv), func(t *testing.T) {
			setup := func(t *testing.T, p *netns.Pair) { grpForger(t, p, timeout+50*time.Millisecond) }
			grpInClient(t, false, 1, setup, func(t *testing.T, l grpLab) {
				if !priv {
					grpAllowPing(t)
				}
				// Two targets with the same Seqs: a reply must carry the
				// index of the target it comes from.
				specs := grpSpecs(append(l.addrs, l.server4), interval, timeout)
				r := grpStart(t, specs, probes.ICMPConfig{Privileged: &priv})
				time.Sleep(time.Second)
				ss := r.stop(t)
				by := grpByAddr(t, specs, ss)
				for a, s := range by {
					for _, x := range s {
						want := x.Seq%3 == 0
						switch {
						case want && x.Lost:
							t.Errorf("%s Seq %d: lost (%s), want answered", a, x.Seq, x.Err)
						case !want && (!x.Lost || x.Err != "timeout"):
							t.Errorf("%s Seq %d: lost %v %q, want a timeout", a, x.Seq, x.Lost, x.Err)
						case want && (x.RTT <= 0 || x.RTT > timeout):
							t.Errorf("%s Seq %d: RTT %v", a, x.Seq, x.RTT)
						}
					}
				}
				t.Logf("%d samples from %d targets", len(ss), len(specs))
			})
		})
	}
}
