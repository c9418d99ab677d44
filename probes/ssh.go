package probes

import (
	"context"
	"errors"

	"github.com/downtime-lab/downtime/probes/sshdial"
	"golang.org/x/crypto/ssh"
)

// keepaliveRequest is the global request OpenSSH's own client sends for
// ServerAliveInterval: every server answers it (usually with a failure
// reply, which is still an answer).
const keepaliveRequest = "keepalive@openssh.com"

// SSH is a session probe over one long-lived SSH connection: every interval
// it sends a keepalive global request with want-reply and times the reply.
// See the session encoding above engine for what its samples mean.
type SSH struct {
	spec Spec
	cfg  sshdial.Config
}

// NewSSH returns an ssh probe of spec.Address, dialled with cfg (which
// supplies port, user, authentication and host key checking; its Host is
// replaced by spec.Address). A zero cfg.Timeout becomes spec.Timeout.
func NewSSH(spec Spec, cfg sshdial.Config) (*SSH, error) {
	if err := checkSessionSpec(spec); err != nil {
		return nil, err
	}
	cfg.Host = spec.Address
	if cfg.Timeout == 0 {
		cfg.Timeout = spec.Timeout
	}
	return &SSH{spec: spec, cfg: cfg}, nil
}

// Run opens the session and probes it until ctx is done. It returns an
// error only if the first connection fails (refused, host key, auth).
func (p *SSH) Run(ctx context.Context, emit Emit) error {
	return newEngine(p.spec, p.dial, emit).run(ctx)
}

func (p *SSH) dial(ctx context.Context) (link, error) {
	c, err := sshdial.Dial(ctx, p.cfg)
	if err != nil {
		return nil, err
	}
	return &sshLink{client: c, q: newSendQueue(), closer: closer{ch: make(chan struct{})}}, nil
}

// sshLink sends keepalives one at a time: x/crypto holds a lock from a
// want-reply global request until its reply, so a sender goroutine drains
// the queue and a request due during a stall waits its turn.
type sshLink struct {
	client *ssh.Client
	q      *sendQueue
	closer
}

func (l *sshLink) start(rep reporter) {
	rep.spawn(func() {
		for {
			seq, ok := l.q.pop(l.ch)
			if !ok {
				return
			}
			if _, _, err := l.client.SendRequest(keepaliveRequest, true, nil); err != nil {
				rep.fail(err)
				return
			}
			rep.reply(seq)
		}
	})
	rep.spawn(func() {
		err := l.client.Wait()
		if err == nil {
			err = errors.New("connection closed")
		}
		rep.fail(err)
	})
}

func (l *sshLink) send(seq uint64) { l.q.push(seq) }

func (l *sshLink) close() { l.closer.close(func() { _ = l.client.Close() }) }
