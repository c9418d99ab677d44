package probes

import (
	"testing"
	"time"
)

const (
	lgInterval = 10 * time.Millisecond
	lgTimeout  = 100 * time.Millisecond
	lgWall     = int64(1_700_000_000_000_000_000) // wall clock at offset 0
)

func newTestLedger() *ledger {
	return newLedger(Sample{Probe: "p", Target: "t", Address: "a"}, lgTimeout, lgInterval)
}

// send records attempt n of session 1, sent on the grid.
func send(t *testing.T, l *ledger, n int) echoKey {
	t.Helper()
	at := time.Duration(n) * lgInterval
	k := echoKey{1, uint16(n)}
	if ok, _ := l.sent(k, at, at, lgWall+int64(at)); !ok {
		t.Fatalf("attempt %d refused", n)
	}
	return k
}

// answer answers key at offset at, with the wire RTT of the attempt sent at sentAt.
func answer(l *ledger, k echoKey, sentAt, at time.Duration) (Sample, bool) {
	return l.answered(k, at, lgWall+int64(at), at-sentAt)
}

func TestLedgerAnswerLateDuplicate(t *testing.T) {
	l := newTestLedger()
	k0, k1 := send(t, l, 0), send(t, l, 1)
	s, ok := answer(l, k0, 0, 3*time.Millisecond)
	if !ok || s.Lost || s.RTT != 3*time.Millisecond || s.Seq != 0 || s.Probe != "p" {
		t.Fatalf("answer: %+v ok=%v", s, ok)
	}
	if _, ok := answer(l, k0, 0, 4*time.Millisecond); ok {
		t.Fatal("duplicate answer accepted")
	}
	out, _, more := l.expire(lgInterval+lgTimeout, nil)
	if len(out) != 1 || !out[0].Lost || out[0].Err != errTimeout || out[0].Seq != 1 || more {
		t.Fatalf("expire: %+v more=%v", out, more)
	}
	if _, ok := answer(l, k1, lgInterval, lgInterval+lgTimeout+time.Millisecond); ok {
		t.Fatal("late answer accepted after the attempt was declared lost")
	}
}

func TestLedgerAnswerAfterTimeoutIsLost(t *testing.T) {
	l := newTestLedger()
	k := send(t, l, 0)
	s, ok := answer(l, k, 0, lgTimeout+time.Millisecond) // beat the sweeper
	if !ok || !s.Lost || s.Err != errTimeout {
		t.Fatalf("%+v ok=%v", s, ok)
	}
}

func TestLedgerSendErrorAdvancesSeq(t *testing.T) {
	l := newTestLedger()
	send(t, l, 0)
	s, ok := l.failed(lgInterval, lgInterval, "send: network is unreachable")
	if !ok || !s.Lost || s.Seq != 1 || s.Err != "send: network is unreachable" {
		t.Fatalf("%+v", s)
	}
	k := echoKey{1, 1}
	if ok, _ := l.sent(k, 2*lgInterval, 2*lgInterval, lgWall+int64(2*lgInterval)); !ok {
		t.Fatal("refused")
	}
	s, ok = answer(l, k, 2*lgInterval, 2*lgInterval+time.Millisecond)
	if !ok || s.Seq != 2 {
		t.Fatalf("after a send error: %+v ok=%v", s, ok)
	}
}

// TestLedgerSeqWrap: pro-bing's 16-bit seq comes round every 65536 sends.
// A very late reply to the earlier wearer of a seq must not answer the
// current one, and our Seq keeps counting past 65535.
func TestLedgerSeqWrap(t *testing.T) {
	l := newTestLedger()
	const n = 1<<16 + 3
	for i := 0; i < n; i++ {
		at := time.Duration(i) * lgInterval
		k := echoKey{1, uint16(i)}
		if ok, _ := l.sent(k, at, at, lgWall+int64(at)); !ok {
			t.Fatal("refused")
		}
		if i == 2 || i == n-1 {
			continue // both wearers of ICMP seq 2 stay unanswered for now
		}
		if s, ok := l.answered(k, at+time.Millisecond, lgWall+int64(at)+int64(time.Millisecond), time.Millisecond); !ok || s.Seq != uint64(i) {
			t.Fatalf("attempt %d: %+v ok=%v", i, s, ok)
		}
		l.expire(at, nil)
	}
	// The attempt with Seq 65538 wears ICMP seq 2 again and is pending.
	// A reply from the first one, sent 65536 intervals ago, comes in now.
	now := time.Duration(n-1)*lgInterval + time.Millisecond
	key := echoKey{1, 2}
	if _, ok := l.answered(key, now, lgWall+int64(now), now-2*lgInterval); ok {
		t.Fatal("reply to the seq's earlier wearer accepted")
	}
	s, ok := l.answered(key, now, lgWall+int64(now), now-time.Duration(n-1)*lgInterval)
	if !ok || s.Seq != n-1 || s.Lost {
		t.Fatalf("current wearer: %+v ok=%v", s, ok)
	}
	if len(l.ring) > 64 {
		t.Fatalf("ring grew to %d with at most 2 pending", len(l.ring))
	}
}

func TestLedgerRingGrowsAndStopDrains(t *testing.T) {
	l := newTestLedger()
	var keys []echoKey
	for i := range 300 { // more than the initial ring holds
		keys = append(keys, send(t, l, i))
	}
	drained := l.stop()
	if ok, _ := l.sent(echoKey{1, 999}, 0, 0, lgWall); ok {
		t.Fatal("attempt accepted after stop")
	}
	for i, k := range keys {
		select {
		case <-drained:
			t.Fatalf("drained with %d attempts pending", len(keys)-i)
		default:
		}
		at := time.Duration(i)*lgInterval + time.Millisecond
		if s, ok := answer(l, k, time.Duration(i)*lgInterval, at); !ok || s.Seq != uint64(i) {
			t.Fatalf("attempt %d: %+v ok=%v", i, s, ok)
		}
	}
	select {
	case <-drained:
	default:
		t.Fatal("not drained with nothing pending")
	}
}

// BenchmarkLedger is the per-packet bookkeeping of the ICMP probe: one
// send, one answer, and the sweeper's pass, with ~10 attempts in flight.
func BenchmarkLedger(b *testing.B) {
	l := newTestLedger()
	const inFlight = 10
	var buf []Sample
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at := time.Duration(i) * lgInterval
		k := echoKey{1, uint16(i)}
		l.sent(k, at, at, lgWall+int64(at))
		if i >= inFlight {
			j := i - inFlight
			sentAt := time.Duration(j) * lgInterval
			l.answered(echoKey{1, uint16(j)}, at, lgWall+int64(at), at-sentAt)
		}
		buf, _, _ = l.expire(at, buf[:0])
	}
}

// TestLedgerSendCallbackLate: when pro-bing's send callback runs after the
// real send, the reply's own stamp moves Sent back to it, never before the
// attempt was due, and the arrival (Sent + RTT) stays where it was.
func TestLedgerSendCallbackLate(t *testing.T) {
	const us = time.Microsecond
	for _, tt := range []struct {
		name      string
		scheduled time.Duration // due
		realSend  time.Duration // pro-bing's stamp, just before the write
		callback  time.Duration // our stamp, in the send callback
		arrival   time.Duration
		wantSent  time.Duration
	}{
		{"on time", 0, 0, 0, 900 * us, 0},
		{"callback 500 µs late", 0, 20 * us, 520 * us, 530 * us, 20 * us},
		{"not before it was due", 100 * us, 50 * us, 600 * us, 900 * us, 100 * us},
		{"reply stamped after our callback (clock step)", 0, 700 * us, 500 * us, 900 * us, 500 * us},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLedger()
			k := echoKey{1, 0}
			if ok, _ := l.sent(k, tt.scheduled, tt.callback, lgWall+int64(tt.callback)); !ok {
				t.Fatal("refused")
			}
			s, ok := l.answered(k, tt.arrival, lgWall+int64(tt.arrival), tt.arrival-tt.realSend)
			if !ok || s.Lost {
				t.Fatalf("%+v ok=%v", s, ok)
			}
			if s.Sent != tt.wantSent || s.Sent+s.RTT != tt.arrival || s.Scheduled != tt.scheduled {
				t.Errorf("sent %v rtt %v (arrival %v), want sent %v, arrival %v", s.Sent, s.RTT, s.Sent+s.RTT, tt.wantSent, tt.arrival)
			}
		})
	}
}
