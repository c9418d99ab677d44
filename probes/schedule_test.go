package probes

import (
	"context"
	"testing"
	"time"
)

func TestScheduleGrid(t *testing.T) {
	clock := NewClock()
	const iv = 5 * time.Millisecond
	s := NewSchedule(clock, iv)
	var first time.Duration
	for k := range uint64(6) {
		if k == 2 {
			time.Sleep(4 * iv) // fall behind: slots must come late, not vanish
		}
		seq, due, ok := s.Next(context.Background())
		if !ok {
			t.Fatal("Next: not ok")
		}
		now := clock.Now()
		if k == 0 {
			first = due
		}
		if seq != k {
			t.Fatalf("seq = %d, want %d", seq, k)
		}
		if want := first + time.Duration(k)*iv; due != want {
			t.Fatalf("slot %d due %v, want %v", k, due, want)
		}
		if now < due {
			t.Fatalf("slot %d returned at %v, before due %v", k, now, due)
		}
	}
}

func TestScheduleCancel(t *testing.T) {
	s := NewSchedule(NewClock(), time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	if _, _, ok := s.Next(ctx); !ok {
		t.Fatal("first slot should be due at once")
	}
	go cancel()
	if _, _, ok := s.Next(ctx); ok {
		t.Fatal("Next returned a slot after cancel")
	}
	if _, _, ok := s.Next(ctx); ok {
		t.Fatal("Next returned a slot on a done context")
	}
}
