package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Session probes (kinds ssh and tcp) keep one long-lived connection for the
// whole run and send an attempt over it every interval. The samples encode
// the life of that connection as follows; reports.Analyze derives survival,
// resets, reconnect times and stalls from exactly these fields.
//
//   - Session is the connection generation: 1 for the connection opened at
//     start, 2 for the first reconnection, and so on; 0 while there is none.
//   - An answered attempt: Lost false, Session n, RTT = reply instant − Sent.
//     A session that stalls without dying (the network paused, TCP
//     retransmits) shows as a run of slow answers, never as loss.
//   - An attempt not answered within Timeout declares the session lost: the
//     connection is closed, and that attempt and every other one still in
//     flight on it are emitted Lost, with Session n and Err
//     "session lost: <why>" (why: "no answer within 1s", "connection
//     closed by peer", "connection reset by peer", ...). A read or write
//     error ends the session the same way.
//   - While there is no session, each due attempt is emitted at once as
//     Lost with Session 0 and Err "session lost: <why>", or, once a
//     reconnection attempt has failed, "session lost: reconnecting: <dial
//     error>". A reconnection is dialled at once when the session is lost
//     and then on every due attempt, each dial under its own deadline of
//     Timeout, at most maxDialing at a time; the first to succeed becomes
//     generation n+1 and carries the next due attempt.
//   - Every Err of a sample whose session is gone starts with "session lost"
//     (the contract with reports). A reset is therefore any sample with that
//     prefix, or a rise of Session between two answered samples (a session
//     lost and replaced between two due attempts).
//
// Sent is the instant the attempt was issued on the run's clock, which is
// its due instant: an attempt that has to wait behind a slow one (x/crypto
// allows one global request in flight per SSH connection) keeps that
// instant, so its RTT includes the wait and a stall reads as a run of slow
// samples rather than shifted ones.

// maxDialing caps concurrent reconnection dials: enough that one is always
// fresh when the path comes back, few enough to stay under sshd's default
// MaxStartups (10).
const maxDialing = 4

// sessionLostPrefix starts the Err of every sample whose session is gone.
const sessionLostPrefix = "session lost"

// link is one connection of a session probe.
type link interface {
	// start begins serving: replies and failures go to rep.
	start(rep reporter)
	// send queues attempt seq; it never blocks.
	send(seq uint64)
	// close ends the connection; it is idempotent.
	close()
}

// dialer opens a new link under ctx (which carries the dial's deadline).
type dialer func(ctx context.Context) (link, error)

// linkEvent is what links and dials report to the engine.
type linkEvent struct {
	id     uint64        // link that reports (0 for a dial result)
	seq    uint64        // reply: the attempt answered
	at     time.Duration // reply: instant it arrived
	err    error         // failure of the link, or of the dial
	dialed link          // dial result
	isDial bool
}

// reporter is a link's way back to the engine.
type reporter struct {
	id    uint64
	e     *engine
	clock Clock
}

// reply reports seq answered now.
func (r reporter) reply(seq uint64) {
	r.e.post(linkEvent{id: r.id, seq: seq, at: r.clock.Now()})
}

// fail reports the link broken.
func (r reporter) fail(err error) {
	if err == nil {
		err = io.EOF
	}
	r.e.post(linkEvent{id: r.id, err: err})
}

// spawn runs fn in a goroutine that the engine waits for before Run returns.
func (r reporter) spawn(fn func()) { r.e.spawn(fn) }

// engine runs a session probe: scheduling, timeouts, loss and reconnection.
// Everything but the links' own goroutines runs in one goroutine (Run).
type engine struct {
	spec Spec
	dial dialer
	emit Emit

	events chan linkEvent
	done   chan struct{}
	wg     sync.WaitGroup

	cur      link
	curID    uint64
	lastID   uint64
	gen      int               // generation of cur, or of the last one
	pending  map[uint64]Sample // attempts in flight on cur
	lostWhy  string            // why the last session ended
	dialErr  error             // latest failed reconnection
	dialing  int
	stopping bool

	watch      *time.Timer
	watchArmed bool
}

func newEngine(spec Spec, dial dialer, emit Emit) *engine {
	return &engine{
		spec:    spec,
		dial:    dial,
		emit:    emit,
		events:  make(chan linkEvent, 16),
		done:    make(chan struct{}),
		pending: make(map[uint64]Sample),
	}
}

func (e *engine) post(ev linkEvent) {
	select {
	case e.events <- ev:
	case <-e.done:
	}
}

func (e *engine) spawn(fn func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
}

// run is Probe.Run for a session probe.
func (e *engine) run(ctx context.Context) error {
	first, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if e.cur != nil {
			e.cur.close()
		}
		close(e.done)
		e.wg.Wait()
	}()
	e.adopt(first)

	e.watch = time.NewTimer(time.Hour)
	e.watch.Stop()
	defer e.watch.Stop()
	// The schedule blocks until each slot is due; a goroutine turns it into
	// a channel the loop can select on.
	type slot struct {
		seq uint64
		due time.Duration
	}
	slots := make(chan slot)
	tickCtx, stopTicks := context.WithCancel(ctx)
	defer stopTicks()
	sched := NewSchedule(e.spec.Clock, e.spec.Interval)
	e.spawn(func() {
		for {
			seq, due, ok := sched.Next(tickCtx)
			if !ok {
				return
			}
			select {
			case slots <- slot{seq, due}:
			case <-tickCtx.Done():
				return
			}
		}
	})

	ctxDone, tickC := ctx.Done(), slots
	for !e.stopping || len(e.pending) > 0 {
		select {
		case <-ctxDone:
			// Stop sending; attempts in flight still get their answer or
			// their timeout. Pending dials die with ctx.
			e.stopping, ctxDone, tickC = true, nil, nil
		case t := <-tickC:
			e.attempt(ctx, t.seq, t.due)
		case ev := <-e.events:
			e.handle(ctx, ev)
		case <-e.watch.C:
			e.watchArmed = false
			e.checkTimeouts(ctx)
		}
	}
	return nil
}

// adopt makes l the live session, generation gen+1.
func (e *engine) adopt(l link) {
	e.gen++
	e.lastID++
	e.cur, e.curID = l, e.lastID
	e.dialErr = nil
	l.start(reporter{id: e.curID, e: e, clock: e.spec.Clock})
}

// attempt issues (or, without a session, records as lost) attempt seq.
func (e *engine) attempt(ctx context.Context, seq uint64, due time.Duration) {
	s := Sample{
		Probe: e.spec.Name, Target: e.spec.Target, Address: e.spec.Address,
		Seq: seq, Scheduled: due, Sent: e.spec.Clock.Now(),
	}
	if e.cur == nil {
		s.Lost = true
		s.Err = sessionLostPrefix + ": " + e.lostWhy
		if e.dialErr != nil {
			s.Err = sessionLostPrefix + ": reconnecting: " + e.dialErr.Error()
		}
		e.emit(s)
		e.startDial(ctx)
		return
	}
	s.Session = e.gen
	e.pending[seq] = s
	e.cur.send(seq)
	if !e.watchArmed {
		e.armWatch(s.Sent + e.spec.Timeout)
	}
}

func (e *engine) armWatch(deadline time.Duration) {
	e.watch.Reset(time.Until(e.spec.Clock.At(deadline)))
	e.watchArmed = true
}

// checkTimeouts declares the session lost if its oldest attempt in flight
// is overdue, else re-arms the watch for it.
func (e *engine) checkTimeouts(ctx context.Context) {
	if len(e.pending) == 0 {
		return
	}
	oldest := slices.Min(pendingSeqs(e.pending))
	deadline := e.pending[oldest].Sent + e.spec.Timeout
	if e.spec.Clock.Now() >= deadline {
		e.lose(ctx, fmt.Sprintf("no answer within %v", e.spec.Timeout))
		return
	}
	e.armWatch(deadline)
}

func (e *engine) handle(ctx context.Context, ev linkEvent) {
	switch {
	case ev.isDial:
		e.dialing--
		switch {
		case ev.err != nil:
			if !e.stopping {
				e.dialErr = ev.err
			}
		case e.cur != nil || e.stopping:
			ev.dialed.close() // another dial won, or the run is over
		default:
			e.adopt(ev.dialed)
		}
	case ev.id != e.curID || e.cur == nil:
		// A report from a session already given up.
	case ev.err != nil:
		e.lose(ctx, reason(ev.err))
	default:
		s, ok := e.pending[ev.seq]
		if !ok {
			return // an echo we did not ask for, or a duplicate
		}
		if rtt := ev.at - s.Sent; rtt > e.spec.Timeout {
			// Later than the timeout: the watch was about to fire.
			e.lose(ctx, fmt.Sprintf("no answer within %v", e.spec.Timeout))
			return
		}
		delete(e.pending, ev.seq)
		s.RTT = ev.at - s.Sent
		e.emit(s)
	}
}

// lose ends the current session: closes it, emits its attempts in flight as
// lost and starts reconnecting (unless the run is stopping).
func (e *engine) lose(ctx context.Context, why string) {
	e.cur.close()
	e.cur, e.curID = nil, 0
	seqs := pendingSeqs(e.pending)
	slices.Sort(seqs)
	for _, seq := range seqs {
		s := e.pending[seq]
		s.Lost, s.RTT = true, 0
		s.Err = sessionLostPrefix + ": " + why
		e.emit(s)
	}
	clear(e.pending)
	e.lostWhy, e.dialErr = why, nil
	if !e.stopping {
		e.startDial(ctx)
	}
}

// startDial starts one reconnection dial under its own deadline, unless
// maxDialing are already under way.
func (e *engine) startDial(ctx context.Context) {
	if e.dialing >= maxDialing {
		return
	}
	e.dialing++
	e.spawn(func() {
		dctx, cancel := context.WithTimeout(ctx, e.spec.Timeout)
		l, err := e.dial(dctx)
		cancel()
		select {
		case e.events <- linkEvent{isDial: true, dialed: l, err: err}:
		case <-e.done:
			if l != nil {
				l.close()
			}
		}
	})
}

func pendingSeqs(m map[uint64]Sample) []uint64 {
	seqs := make([]uint64, 0, len(m))
	for s := range m {
		seqs = append(seqs, s)
	}
	return seqs
}

// reason says in a few words why a connection ended.
func reason(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by peer"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	default:
		return err.Error()
	}
}

// sendQueue is an unbounded FIFO of attempts for a link's sender goroutine:
// the engine must never block on a stalled connection.
type sendQueue struct {
	mu    sync.Mutex
	items []uint64
	ready chan struct{}
}

func newSendQueue() *sendQueue { return &sendQueue{ready: make(chan struct{}, 1)} }

func (q *sendQueue) push(seq uint64) {
	q.mu.Lock()
	q.items = append(q.items, seq)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop waits for the next attempt; ok is false once done is closed.
func (q *sendQueue) pop(done <-chan struct{}) (seq uint64, ok bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			seq = q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return seq, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-done:
			return 0, false
		}
	}
}

// closer closes a channel once, for links' close methods. Build it as
// closer{ch: make(chan struct{})}.
type closer struct {
	once sync.Once
	ch   chan struct{}
}

func (c *closer) close(fn func()) {
	c.once.Do(func() {
		close(c.ch)
		fn()
	})
}
