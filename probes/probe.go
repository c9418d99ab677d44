// Package probes sends probes to targets and reports every attempt as a Sample.
//
// One file per protocol (icmp.go, tcp.go, ssh.go, snmp.go), each behind the
// Probe interface. A probe knows nothing about triggers or reports: it only
// emits samples, stamped with monotonic offsets from the run start.
package probes

import (
	"context"
	"time"
)

// Sample is one probe attempt: what was sent when, and what came back.
//
// Times are offsets from the run start on the monotonic clock (see Clock).
// Seq is the probe's own counter (never a 16-bit protocol field), starting at
// 0 and counting every attempt, including those that failed to send.
type Sample struct {
	Probe     string        // probe name from the scenario
	Target    string        // target name from the scenario
	Address   string        // the address actually probed
	Seq       uint64        // per (probe, address), from 0
	Scheduled time.Duration // when the attempt was due
	Sent      time.Duration // when it left (or failed to leave)
	RTT       time.Duration // round trip; meaningful only when !Lost
	Lost      bool          // no answer within the timeout, or a send error
	Err       string        // why it was lost, or a protocol note
	Session   int           // session probes: connection generation (1, 2, ...); 0 otherwise
	Value     string        // protocol reading, e.g. sysUpTime ticks for snmp
}

// Emit receives samples. Implementations never block the caller for long
// and never drop a sample.
type Emit func(Sample)

// Probe sends attempts at a fixed interval until ctx is done.
//
// Run reports every attempt exactly once through emit, when its outcome is
// known (answered, timed out, or failed to send), so samples of one probe may
// arrive out of Seq order. When ctx is cancelled the probe stops sending,
// resolves each attempt still in flight (answer or timeout) and returns.
// A non-nil error means the probe could not run at all (e.g. no socket).
type Probe interface {
	Run(ctx context.Context, emit Emit) error
}

// Spec is what every probe kind shares.
type Spec struct {
	Name     string        // probe name
	Target   string        // target name
	Address  string        // address (IPv4, IPv6 or hostname) to probe
	Interval time.Duration // time between attempts
	Timeout  time.Duration // an answer later than this counts as lost
	Clock    Clock         // the run's clock
}

// Clock turns monotonic instants into offsets from the run start.
// The zero Clock is not usable; use NewClock.
type Clock struct{ start time.Time }

// NewClock starts a clock at the current instant.
func NewClock() Clock { return Clock{start: time.Now()} }

// ClockAt returns a clock that started at t (t must carry a monotonic reading).
func ClockAt(t time.Time) Clock { return Clock{start: t} }

// Start is the wall-clock instant of the run start, for labels only.
func (c Clock) Start() time.Time { return c.start }

// Now is the current offset from the run start.
func (c Clock) Now() time.Duration { return time.Since(c.start) }

// Offset converts an instant taken with time.Now into an offset.
func (c Clock) Offset(t time.Time) time.Duration { return t.Sub(c.start) }

// At converts an offset back into an instant, e.g. for timers.
func (c Clock) At(d time.Duration) time.Time { return c.start.Add(d) }
