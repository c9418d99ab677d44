package probes

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// TCP is a session probe over one long-lived TCP connection to an echo
// service (RFC 862, or anything that sends lines back): every interval it
// writes "downtime <seq>\n" and times the echo of that line. It serves
// guests without SSH. See the session encoding above engine.
type TCP struct {
	spec Spec
	addr string
}

// NewTCP returns a tcp echo probe of spec.Address at port.
func NewTCP(spec Spec, port int) (*TCP, error) {
	if err := checkSessionSpec(spec); err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("tcp probe %s: port %d out of range 1-65535", spec.Name, port)
	}
	return &TCP{spec: spec, addr: net.JoinHostPort(spec.Address, strconv.Itoa(port))}, nil
}

// Run opens the connection and probes it until ctx is done. It returns an
// error only if the first connection fails.
func (p *TCP) Run(ctx context.Context, emit Emit) error {
	return newEngine(p.spec, p.dial, emit).run(ctx)
}

func (p *TCP) dial(ctx context.Context) (link, error) {
	ctx, cancel := context.WithTimeout(ctx, p.spec.Timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("tcp echo %s: %w", p.addr, err)
	}
	return &tcpLink{conn: c, timeout: p.spec.Timeout, q: newSendQueue(), closer: closer{ch: make(chan struct{})}}, nil
}

// maxLine bounds an echoed line; ours are about 30 bytes.
const maxLine = 4096

var linePrefix = []byte("downtime ")

type tcpLink struct {
	conn    net.Conn
	timeout time.Duration
	q       *sendQueue
	closer
}

func (l *tcpLink) start(rep reporter) {
	rep.spawn(func() {
		var buf []byte
		for {
			seq, ok := l.q.pop(l.ch)
			if !ok {
				return
			}
			buf = strconv.AppendUint(append(buf[:0], linePrefix...), seq, 10)
			buf = append(buf, '\n')
			// A full send buffer must not hang the writer past the timeout.
			_ = l.conn.SetWriteDeadline(time.Now().Add(l.timeout))
			if _, err := l.conn.Write(buf); err != nil {
				rep.fail(err)
				return
			}
		}
	})
	rep.spawn(func() {
		sc := bufio.NewScanner(l.conn)
		sc.Buffer(make([]byte, 256), maxLine)
		for sc.Scan() {
			rest, ok := bytes.CutPrefix(bytes.TrimRight(sc.Bytes(), "\r"), linePrefix)
			if !ok {
				continue // not ours: a banner, or noise
			}
			if seq, err := strconv.ParseUint(string(rest), 10, 64); err == nil {
				rep.reply(seq)
			}
		}
		err := sc.Err()
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("echo peer sent a line over %d bytes", maxLine)
		}
		rep.fail(err) // nil: EOF
	})
}

func (l *tcpLink) send(seq uint64) { l.q.push(seq) }

func (l *tcpLink) close() { l.closer.close(func() { _ = l.conn.Close() }) }

// checkSessionSpec validates what every session probe needs.
func checkSessionSpec(spec Spec) error {
	switch {
	case spec.Address == "":
		return fmt.Errorf("probe %s: no address", spec.Name)
	case spec.Interval <= 0:
		return fmt.Errorf("probe %s: interval must be positive", spec.Name)
	case spec.Timeout <= 0:
		return fmt.Errorf("probe %s: timeout must be positive", spec.Name)
	case spec.Clock.Start().IsZero():
		return fmt.Errorf("probe %s: no clock (use probes.NewClock)", spec.Name)
	}
	return nil
}
