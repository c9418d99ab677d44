package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// SysUpTimeOID is sysUpTime.0, the default OID an SNMP probe reads: its
// value (hundredths of a second since the agent started) going backwards
// tells an agent restart or guest reboot apart from a network gap.
const SysUpTimeOID = "1.3.6.1.2.1.1.3.0"

// SNMPConfig is what an SNMP probe needs beyond Spec. Secrets (Community,
// AuthPass, PrivPass) are passed in as values; they never appear in a
// Sample, an error or a log line.
type SNMPConfig struct {
	Port      uint16 // UDP port; 0 means 161
	Version   string // "1", "2c" (default) or "3"
	Community string // v1 and v2c
	OID       string // numeric OID to GET; "" means SysUpTimeOID

	// SNMPv3 (user-based security). The security level follows from what
	// is set: PrivProtocol implies authPriv, AuthProtocol alone authNoPriv.
	SecurityName string
	AuthProtocol string // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPass     string
	PrivProtocol string // DES, AES, AES192, AES256, AES192C, AES256C
	PrivPass     string
}

// SNMP polls one OID with a GET per interval, over its own client and an
// unconnected UDP socket, so that an answer from another address of the
// agent (after a failover) still counts. A GET with no valid answer within
// the timeout is a lost sample; there are no retries.
//
// Each GET runs synchronously and ends within Timeout (which is below the
// interval), so one goroutine keeps the fixed grid. gosnmp discards
// answers whose request id does not match the one in flight, so a late
// answer to an older poll never counts for a newer one.
type SNMP struct {
	spec    Spec
	cfg     SNMPConfig
	oid     string // without a leading dot
	version gosnmp.SnmpVersion
	flags   gosnmp.SnmpV3MsgFlags
	auth    gosnmp.SnmpV3AuthProtocol
	priv    gosnmp.SnmpV3PrivProtocol
}

var _ Probe = (*SNMP)(nil)

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
	"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192,
	"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

// NewSNMP checks spec and cfg and returns a probe; it opens no socket yet.
func NewSNMP(spec Spec, cfg SNMPConfig) (*SNMP, error) {
	if spec.Address == "" {
		return nil, errors.New("snmp: no address")
	}
	if spec.Interval <= 0 {
		return nil, fmt.Errorf("snmp: interval %v must be positive", spec.Interval)
	}
	if spec.Timeout <= 0 || spec.Timeout >= spec.Interval {
		return nil, fmt.Errorf("snmp: timeout %v must be positive and below the interval %v", spec.Timeout, spec.Interval)
	}
	p := &SNMP{spec: spec, cfg: cfg, oid: strings.TrimPrefix(cfg.OID, ".")}
	if p.oid == "" {
		p.oid = SysUpTimeOID
	}
	if !validOID(p.oid) {
		return nil, fmt.Errorf("snmp: OID %q is not numeric (like 1.3.6.1.2.1.1.3.0)", cfg.OID)
	}
	if p.cfg.Port == 0 {
		p.cfg.Port = 161
	}
	switch cfg.Version {
	case "1":
		p.version = gosnmp.Version1
	case "2c", "2", "":
		p.version = gosnmp.Version2c
	case "3":
		p.version = gosnmp.Version3
		if err := p.checkV3(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("snmp: version %q: want 1, 2c or 3", cfg.Version)
	}
	return p, nil
}

func (p *SNMP) checkV3() error {
	c := p.cfg
	if c.SecurityName == "" {
		return errors.New("snmp: v3 needs a security name")
	}
	p.flags, p.auth, p.priv = gosnmp.NoAuthNoPriv, gosnmp.NoAuth, gosnmp.NoPriv
	if c.AuthProtocol != "" {
		var ok bool
		if p.auth, ok = authProtocols[strings.ToUpper(c.AuthProtocol)]; !ok {
			return fmt.Errorf("snmp: unknown auth protocol %q", c.AuthProtocol)
		}
		if len(c.AuthPass) < 8 {
			return errors.New("snmp: v3 auth passphrase must have at least 8 characters")
		}
		p.flags = gosnmp.AuthNoPriv
	}
	if c.PrivProtocol != "" {
		if c.AuthProtocol == "" {
			return errors.New("snmp: v3 privacy needs an auth protocol too")
		}
		var ok bool
		if p.priv, ok = privProtocols[strings.ToUpper(c.PrivProtocol)]; !ok {
			return fmt.Errorf("snmp: unknown privacy protocol %q", c.PrivProtocol)
		}
		if len(c.PrivPass) < 8 {
			return errors.New("snmp: v3 privacy passphrase must have at least 8 characters")
		}
		p.flags = gosnmp.AuthPriv
	}
	return nil
}

func validOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, part := range parts {
		if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return false
		}
	}
	return true
}

// client builds this probe's own gosnmp client.
func (p *SNMP) client() *gosnmp.GoSNMP {
	g := &gosnmp.GoSNMP{
		Target:                  p.spec.Address,
		Port:                    p.cfg.Port,
		Transport:               "udp",
		Community:               p.cfg.Community,
		Version:                 p.version,
		Timeout:                 p.spec.Timeout,
		Retries:                 0,
		ExponentialTimeout:      false,
		UseUnconnectedUDPSocket: true,
		MaxOids:                 gosnmp.MaxOids,
		Context:                 context.Background(),
	}
	if p.version == gosnmp.Version3 {
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = p.flags
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 p.cfg.SecurityName,
			AuthenticationProtocol:   p.auth,
			AuthenticationPassphrase: p.cfg.AuthPass,
			PrivacyProtocol:          p.priv,
			PrivacyPassphrase:        p.cfg.PrivPass,
		}
	}
	return g
}

// Run polls until ctx is done. The GET in flight when ctx ends is resolved
// (answer or timeout) and reported before Run returns.
func (p *SNMP) Run(ctx context.Context, emit Emit) error {
	g := p.client()
	if err := g.Connect(); err != nil {
		return fmt.Errorf("snmp %s: open socket: %s", p.spec.Name, p.scrub(err))
	}
	defer g.Close()
	if p.version == gosnmp.Version3 {
		p.warmUp(ctx, g)
	}
	sched := NewSchedule(p.spec.Clock, p.spec.Interval)
	for {
		seq, due, ok := sched.Next(ctx)
		if !ok {
			return nil
		}
		emit(p.poll(g, seq, due))
	}
}

// warmUpLimit bounds the unrecorded v3 warm-up GET.
const warmUpLimit = 5 * time.Second

// warmUp sends one unrecorded GET before the grid starts. For v3 it
// discovers the agent's engine and localizes the keys, which costs a round
// trip and a megabyte of hashing per key: done inside the first poll, that
// CPU time would eat its timeout and show up as a lost poll that the
// network never caused. If the agent does not answer, polls discover it
// themselves later.
func (p *SNMP) warmUp(ctx context.Context, g *gosnmp.GoSNMP) {
	wctx, cancel := context.WithTimeout(ctx, warmUpLimit)
	defer cancel()
	g.Context = wctx
	_, _ = g.Get([]string{p.oid})
}

// poll sends one GET and waits for its answer or the timeout.
func (p *SNMP) poll(g *gosnmp.GoSNMP, seq uint64, due time.Duration) Sample {
	clock := p.spec.Clock
	s := Sample{Probe: p.spec.Name, Target: p.spec.Target, Address: p.spec.Address, Seq: seq, Scheduled: due}
	// Sent is the first packet of the attempt (v3 may need an engine
	// discovery first); RTT spans the last request and its answer.
	var first, last, recv time.Time
	g.PreSend = func(*gosnmp.GoSNMP) {
		last = time.Now()
		if first.IsZero() {
			first = last
		}
	}
	g.OnRecv = func(*gosnmp.GoSNMP) { recv = time.Now() }
	// The deadline bounds the whole attempt, discovery included, so the
	// grid holds even for v3.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(p.spec.Timeout))
	defer cancel()
	g.Context = ctx

	res, err := g.Get([]string{p.oid})
	if first.IsZero() {
		first = time.Now() // failed before anything left
	}
	s.Sent = clock.Offset(first)
	if err != nil {
		s.Lost, s.Err = true, p.describe(err)
		return s
	}
	s.RTT = recv.Sub(last)
	if recv.IsZero() {
		s.RTT = time.Since(last)
	}
	p.read(res, &s)
	return s
}

// read fills the answer's outcome into s.
func (p *SNMP) read(res *gosnmp.SnmpPacket, s *Sample) {
	switch {
	case res.PDUType != gosnmp.GetResponse:
		s.Lost, s.Err = true, "unexpected "+res.PDUType.String()+" PDU"
	case res.RequestID == 0 && p.version != gosnmp.Version3:
		// gosnmp accepts request id 0 as matching anything; a real agent
		// always echoes our (non-zero) id.
		s.Lost, s.Err = true, "answer with request id 0 ignored"
	case res.Error != gosnmp.NoError:
		s.Err = "agent error: " + res.Error.String()
	case len(res.Variables) != 1 || strings.TrimPrefix(res.Variables[0].Name, ".") != p.oid:
		s.Lost, s.Err = true, "answer for another OID ignored"
	default:
		s.Value, s.Err = value(res.Variables[0])
	}
}

// value renders a variable: integers (TimeTicks included) in decimal.
func value(v gosnmp.SnmpPDU) (val, note string) {
	switch v.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null:
		return "", v.Type.String()
	case gosnmp.OctetString:
		if b, ok := v.Value.([]byte); ok {
			return string(b), ""
		}
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		return fmt.Sprint(v.Value), ""
	}
	if n := gosnmp.ToBigInt(v.Value); n != nil {
		return n.String(), ""
	}
	return fmt.Sprint(v.Value), ""
}

// describe turns a GET error into Sample.Err: "timeout" for a lost poll,
// otherwise the error with every secret masked.
func (p *SNMP) describe(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return p.scrub(err)
}

// scrub renders err with any secret of this probe replaced by "***".
func (p *SNMP) scrub(err error) string {
	msg := err.Error()
	for _, secret := range []string{p.cfg.Community, p.cfg.AuthPass, p.cfg.PrivPass} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "***")
		}
	}
	return msg
}

// UptimeWentBack reports whether sysUpTime readings prev then cur (decimal
// TimeTicks, as in Sample.Value) show the agent restarted in between: cur
// is below prev. A counter wrap (every 497 days) is not a restart: it is
// assumed when prev was within a day of 2^32 and cur within a day of 0.
// Unparseable readings report false.
func UptimeWentBack(prev, cur string) bool {
	a, err1 := strconv.ParseUint(prev, 10, 32)
	b, err2 := strconv.ParseUint(cur, 10, 32)
	if err1 != nil || err2 != nil || b >= a {
		return false
	}
	const day = 100 * 60 * 60 * 24 // TimeTicks are centiseconds
	return a < 1<<32-day || b >= day
}
