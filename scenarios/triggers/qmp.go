package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

// DefaultQMPPoll is how often a migration's progress is polled.
const DefaultQMPPoll = 20 * time.Millisecond

// QMPConfig configures a QMP trigger.
type QMPConfig struct {
	Socket string // QEMU's QMP unix socket (the source VM's, for migrate)
	// Action is "migrate", "set_link" or "query" (read the version and
	// the last migration's figures, change nothing).
	Action string
	URI    string        // migrate: destination, e.g. tcp:127.0.0.1:4444
	Netdev string        // set_link: id of the -netdev or -device
	Up     bool          // set_link: the new link state
	Poll   time.Duration // migrate: query-migrate interval (default 20 ms)
	// QuitSource makes migrate send `quit` to the source once the
	// migration completed.
	QuitSource bool
	// AnnounceRounds, when set, is applied with migrate-set-parameters
	// before the action. QEMU reads it on the destination, so this is for
	// a trigger pointed at the destination's socket (e.g. action query
	// before the migration); 0 turns the self-announce off.
	AnnounceRounds *int
}

// QMP drives QEMU directly over its QMP socket: a live migration with the
// hypervisor's own downtime figures, or a NIC link change.
type QMP struct{ cfg QMPConfig }

// NewQMP returns a QMP trigger.
func NewQMP(cfg QMPConfig) *QMP {
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultQMPPoll
	}
	return &QMP{cfg: cfg}
}

// migrateInfo is the part of query-migrate's answer used here.
type migrateInfo struct {
	Status    string  `json:"status"`
	ErrorDesc string  `json:"error-desc"`
	Downtime  float64 `json:"downtime"`
	TotalTime float64 `json:"total-time"`
	SetupTime float64 `json:"setup-time"`
}

// Fire performs the action. Cancelling ctx during a migration sends
// migrate_cancel, so the guest stays on the source.
func (q *QMP) Fire(ctx context.Context, out io.Writer) (Outcome, error) {
	oc := Outcome{ExitCode: -1}
	c, err := dialQMP(ctx, q.cfg.Socket)
	if err != nil {
		return oc, err
	}
	defer c.close()
	if q.cfg.AnnounceRounds != nil {
		args := map[string]int{"announce-rounds": *q.cfg.AnnounceRounds}
		if _, err := c.run(ctx, "migrate-set-parameters", args); err != nil {
			return oc, err
		}
		fmt.Fprintf(out, "qmp: announce-rounds %d\n", *q.cfg.AnnounceRounds)
	}
	switch q.cfg.Action {
	case "migrate":
		return q.migrate(ctx, c, out)
	case "set_link":
		if q.cfg.Netdev == "" {
			return oc, errors.New("qmp set_link: no netdev")
		}
		args := map[string]any{"name": q.cfg.Netdev, "up": q.cfg.Up}
		if _, err := c.run(ctx, "set_link", args); err != nil {
			return oc, err
		}
		fmt.Fprintf(out, "qmp: set_link %s up=%t\n", q.cfg.Netdev, q.cfg.Up)
		return oc, nil
	case "query":
		h := &Hypervisor{Source: "qmp query-migrate", Version: c.version(ctx)}
		var mi migrateInfo
		if err := c.runInto(ctx, "query-migrate", nil, &mi); err != nil {
			return oc, err
		}
		if mi.Status == "completed" {
			h.DowntimeMS, h.TotalTimeMS, h.SetupTimeMS = mi.Downtime, mi.TotalTime, mi.SetupTime
			oc.Hypervisor = h
		}
		fmt.Fprintf(out, "qmp: QEMU %s, last migration: %s\n", h.Version, orNone(mi.Status))
		return oc, nil
	default:
		return oc, fmt.Errorf("qmp: unknown action %q (want migrate, set_link or query)", q.cfg.Action)
	}
}

func (q *QMP) migrate(ctx context.Context, c *qmpConn, out io.Writer) (Outcome, error) {
	oc := Outcome{ExitCode: -1}
	if q.cfg.URI == "" {
		return oc, errors.New("qmp migrate: no uri")
	}
	version := c.version(ctx)
	if _, err := c.run(ctx, "migrate", map[string]string{"uri": q.cfg.URI}); err != nil {
		return oc, err
	}
	fmt.Fprintf(out, "qmp: migrate to %s (QEMU %s)\n", q.cfg.URI, version)
	tick := time.NewTicker(q.cfg.Poll)
	defer tick.Stop()
	last := ""
	// QEMU sets the state to completed a moment before it computes the
	// total time and downtime (migration_completion, then
	// migration_iteration_finish, in its migration thread): a query in
	// between reads "completed" with both 0. Such an answer is asked again,
	// for up to figuresWait.
	const figuresWait = time.Second
	var completedAt time.Time
	for {
		select {
		case <-ctx.Done():
			return oc, q.cancel(c, out, ctx.Err())
		case <-tick.C:
		}
		var mi migrateInfo
		if err := c.runInto(ctx, "query-migrate", nil, &mi); err != nil {
			if ctx.Err() != nil {
				return oc, q.cancel(c, out, ctx.Err())
			}
			return oc, err
		}
		if mi.Status != last {
			fmt.Fprintf(out, "qmp: migration %s\n", mi.Status)
			last = mi.Status
		}
		switch mi.Status {
		case "completed":
			if mi.TotalTime == 0 && mi.Downtime == 0 {
				if completedAt.IsZero() {
					completedAt = time.Now()
				}
				if time.Since(completedAt) < figuresWait {
					continue
				}
			}
			oc.Hypervisor = &Hypervisor{
				Source:      "qmp query-migrate",
				DowntimeMS:  mi.Downtime,
				TotalTimeMS: mi.TotalTime,
				SetupTimeMS: mi.SetupTime,
				Version:     version,
			}
			fmt.Fprintf(out, "qmp: downtime %.0f ms, total %.0f ms, setup %.0f ms\n", mi.Downtime, mi.TotalTime, mi.SetupTime)
			if q.cfg.QuitSource {
				// QEMU closes the socket as it quits: the answer may not come.
				_, _ = c.run(ctx, "quit", nil)
				fmt.Fprintln(out, "qmp: source quit")
			}
			return oc, nil
		case "failed", "cancelled":
			desc := mi.ErrorDesc
			if desc == "" {
				desc = "no error description"
			}
			return oc, fmt.Errorf("qmp migrate: %s: %s", mi.Status, desc)
		}
	}
}

// cancel stops a running migration after ctx ended, on a short deadline of
// its own, and returns why.
func (q *QMP) cancel(c *qmpConn, out io.Writer, cause error) error {
	ctx, done := context.WithTimeout(context.Background(), 2*time.Second)
	defer done()
	if _, err := c.run(ctx, "migrate_cancel", nil); err != nil {
		return errors.Join(cause, fmt.Errorf("migrate_cancel: %w", err))
	}
	fmt.Fprintln(out, "qmp: migrate_cancel sent")
	return cause
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// qmpConn is one QMP session. go-qemu's monitor has no deadlines of its
// own, so every call runs in a goroutine and gives up when ctx ends; the
// socket is closed on the way out, which ends that goroutine too.
type qmpConn struct {
	mon  *qmp.SocketMonitor
	busy chan struct{} // one command at a time; waiting for it obeys ctx
}

// dialQMP connects and does the qmp_capabilities handshake.
func dialQMP(ctx context.Context, socket string) (*qmpConn, error) {
	if socket == "" {
		return nil, errors.New("qmp: no socket")
	}
	mon, err := qmp.NewSocketMonitor("unix", socket, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("qmp: connect %s: %w", socket, err)
	}
	c := &qmpConn{mon: mon, busy: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- mon.Connect() }()
	select {
	case err := <-done:
		if err != nil {
			_ = mon.Disconnect()
			return nil, fmt.Errorf("qmp: handshake on %s: %w", socket, err)
		}
		return c, nil
	case <-ctx.Done():
		// QEMU serves one QMP client at a time: another may hold it.
		// Disconnect once the handshake gives up, never concurrently with it.
		go func() { <-done; _ = mon.Disconnect() }()
		return nil, fmt.Errorf("qmp: handshake on %s: %w", socket, ctx.Err())
	}
}

// close disconnects; a command still waiting for QEMU then fails at once.
func (c *qmpConn) close() { _ = c.mon.Disconnect() }

// QMPCall connects to a QMP socket, runs one command and returns its
// "return" value, giving up when ctx ends (QEMU serves one QMP client at a
// time, so a connection may wait for another client to leave).
func QMPCall(ctx context.Context, socket, execute string, args any) (json.RawMessage, error) {
	c, err := dialQMP(ctx, socket)
	if err != nil {
		return nil, err
	}
	defer c.close()
	return c.run(ctx, execute, args)
}

// run sends one command and returns its "return" value.
func (c *qmpConn) run(ctx context.Context, execute string, args any) (json.RawMessage, error) {
	cmd, err := json.Marshal(qmp.Command{Execute: execute, Args: args})
	if err != nil {
		return nil, err
	}
	select {
	case c.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("qmp %s: %w", execute, ctx.Err())
	}
	type result struct {
		raw []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-c.busy }()
		raw, err := c.mon.Run(cmd)
		done <- result{raw, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("qmp %s: %w", execute, ctx.Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("qmp %s: %w", execute, r.err)
	}
	var resp struct {
		Return json.RawMessage `json:"return"`
	}
	if err := json.Unmarshal(r.raw, &resp); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", execute, err)
	}
	return resp.Return, nil
}

func (c *qmpConn) runInto(ctx context.Context, execute string, args, v any) error {
	raw, err := c.run(ctx, execute, args)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("qmp %s: %w", execute, err)
	}
	return nil
}

// version asks query-version; "" when QEMU does not say.
func (c *qmpConn) version(ctx context.Context) string {
	var v qmp.Version
	if err := c.runInto(ctx, "query-version", nil, &v); err != nil {
		return ""
	}
	s := v.String()
	if v.Package != "" {
		s += " (" + v.Package + ")"
	}
	return s
}
