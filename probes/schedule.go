package probes

import (
	"context"
	"time"
)

// Schedule hands out attempt slots on a fixed grid of the run's monotonic
// clock: attempt k is due at first + k*interval, where first is the offset
// at NewSchedule. Due times never drift with the time spent on an attempt.
//
// Schedule never skips a slot. A probe that falls behind (a stalled
// process, an attempt that overran) gets the overdue slots at once, one by
// one, and records its lateness honestly as Sent - Scheduled, rather than
// losing sequence numbers. It is not safe for concurrent use.
type Schedule struct {
	clock    Clock
	first    time.Duration
	interval time.Duration
	next     uint64
}

// NewSchedule starts a grid at the clock's current offset; the first slot
// is due at once. interval must be positive.
func NewSchedule(clock Clock, interval time.Duration) *Schedule {
	return &Schedule{clock: clock, first: clock.Now(), interval: interval}
}

// Next waits until the next slot is due and returns its sequence number
// (0, 1, 2, ...) and due offset. It returns ok=false, without waiting
// further, once ctx is done.
func (s *Schedule) Next(ctx context.Context) (seq uint64, due time.Duration, ok bool) {
	if ctx.Err() != nil {
		return 0, 0, false
	}
	seq = s.next
	due = s.first + time.Duration(seq)*s.interval
	// time.Until on an instant derived from the clock's start measures on
	// the monotonic clock.
	if wait := time.Until(s.clock.At(due)); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return 0, 0, false
		case <-t.C:
		}
	}
	s.next++
	return seq, due, true
}
