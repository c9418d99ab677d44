package probes_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/gosnmp/gosnmp"
)

// collect runs p for d and returns its samples in Seq order.
func collect(t *testing.T, p probes.Probe, d time.Duration) []probes.Sample {
	t.Helper()
	var mu sync.Mutex
	var got []probes.Sample
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.Run(ctx, func(s probes.Sample) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, s := range got {
		if s.Seq != uint64(i) {
			t.Fatalf("sample %d has seq %d: attempts skipped or reordered", i, s.Seq)
		}
	}
	return got
}

func lost(ss []probes.Sample) (n int) {
	for _, s := range ss {
		if s.Lost {
			n++
		}
	}
	return n
}

func TestNewSNMPRejects(t *testing.T) {
	ok := probes.Spec{Name: "s", Address: "127.0.0.1", Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond, Clock: probes.NewClock()}
	const secret = "sup3rs3cretpass"
	cases := map[string]struct {
		spec probes.Spec
		cfg  probes.SNMPConfig
	}{
		"timeout = interval": {func() probes.Spec { s := ok; s.Timeout = s.Interval; return s }(), probes.SNMPConfig{}},
		"no timeout":         {func() probes.Spec { s := ok; s.Timeout = 0; return s }(), probes.SNMPConfig{}},
		"no address":         {func() probes.Spec { s := ok; s.Address = ""; return s }(), probes.SNMPConfig{}},
		"bad version":        {ok, probes.SNMPConfig{Version: "4", Community: secret}},
		"named OID":          {ok, probes.SNMPConfig{OID: "sysUpTime.0"}},
		"v3 no user":         {ok, probes.SNMPConfig{Version: "3", AuthProtocol: "SHA", AuthPass: secret}},
		"v3 bad auth":        {ok, probes.SNMPConfig{Version: "3", SecurityName: "u", AuthProtocol: "SHA3", AuthPass: secret}},
		"v3 short pass":      {ok, probes.SNMPConfig{Version: "3", SecurityName: "u", AuthProtocol: "SHA", AuthPass: "short"}},
		"v3 priv no auth":    {ok, probes.SNMPConfig{Version: "3", SecurityName: "u", PrivProtocol: "AES", PrivPass: secret}},
		"v3 bad priv":        {ok, probes.SNMPConfig{Version: "3", SecurityName: "u", AuthProtocol: "SHA", AuthPass: secret, PrivProtocol: "ROT13", PrivPass: secret}},
	}
	for name, c := range cases {
		_, err := probes.NewSNMP(c.spec, c.cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "short") {
			t.Errorf("%s: error reveals a secret: %v", name, err)
		}
	}
	if _, err := probes.NewSNMP(ok, probes.SNMPConfig{Version: "3", SecurityName: "u", AuthProtocol: "sha256", AuthPass: secret, PrivProtocol: "aes", PrivPass: secret}); err != nil {
		t.Errorf("valid v3 config rejected: %v", err)
	}
}

func TestUptimeWentBack(t *testing.T) {
	for _, c := range []struct {
		prev, cur string
		want      bool
	}{
		{"1000", "1100", false},
		{"1000", "1000", false},
		{"123456", "12", true},
		{"4294967000", "50", false}, // counter wrap, not a restart
		{"100000", "", false},
		{"x", "1", false},
	} {
		if got := probes.UptimeWentBack(c.prev, c.cur); got != c.want {
			t.Errorf("UptimeWentBack(%q, %q) = %t, want %t", c.prev, c.cur, got, c.want)
		}
	}
}

// fakeAgent answers SNMPv2c GETs on loopback, honestly or not.
type fakeAgent struct {
	conn      *net.UDPConn
	community string
	mode      string // "honest", "wrong-id", "zero-id", "late"
	delay     time.Duration
}

func startFakeAgent(t *testing.T, community, mode string, delay time.Duration) *fakeAgent {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAgent{conn: c, community: community, mode: mode, delay: delay}
	done := make(chan struct{})
	go a.serve(done)
	t.Cleanup(func() { _ = c.Close(); <-done })
	return a
}

func (a *fakeAgent) port() uint16 { return uint16(a.conn.LocalAddr().(*net.UDPAddr).Port) }

func (a *fakeAgent) serve(done chan struct{}) {
	defer close(done)
	dec := &gosnmp.GoSNMP{}
	buf := make([]byte, 65536)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		n, from, err := a.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		req, err := dec.SnmpDecodePacket(buf[:n])
		if err != nil || req.Community != a.community || len(req.Variables) == 0 {
			continue // real agents drop a wrong community silently
		}
		resp := &gosnmp.SnmpPacket{
			Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse,
			RequestID: req.RequestID,
			Variables: []gosnmp.SnmpPDU{{Name: req.Variables[0].Name, Type: gosnmp.TimeTicks, Value: uint32(4242)}},
		}
		switch a.mode {
		case "wrong-id":
			resp.RequestID += 1000
		case "zero-id":
			resp.RequestID = 0
		}
		out, err := resp.MarshalMsg()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(a.delay)
			_, _ = a.conn.WriteToUDP(out, from)
		}()
	}
}

// TestSNMPHostileResponder checks that only an answer to the request in
// flight counts: answers carrying another request id, including late
// answers to the previous poll, are lost polls.
func TestSNMPHostileResponder(t *testing.T) {
	const community = "fake-community-x"
	for _, c := range []struct {
		mode      string
		delay     time.Duration
		wantLost  bool
		wantValue string
	}{
		{"honest", 0, false, "4242"},
		{"wrong-id", 0, true, ""},
		{"zero-id", 0, true, ""},
		// Each answer arrives after its poll timed out, while the next
		// poll waits: it carries the older request id.
		{"late", 60 * time.Millisecond, true, ""},
	} {
		t.Run(c.mode, func(t *testing.T) {
			a := startFakeAgent(t, community, c.mode, c.delay)
			p, err := probes.NewSNMP(probes.Spec{
				Name: "snmp", Target: "fake", Address: "127.0.0.1",
				Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, Clock: probes.NewClock(),
			}, probes.SNMPConfig{Port: a.port(), Community: community})
			if err != nil {
				t.Fatal(err)
			}
			ss := collect(t, p, 520*time.Millisecond)
			if len(ss) < 5 {
				t.Fatalf("only %d samples", len(ss))
			}
			for _, s := range ss {
				if s.Lost != c.wantLost || s.Value != c.wantValue {
					t.Errorf("seq %d: lost=%t value=%q err=%q; want lost=%t value=%q", s.Seq, s.Lost, s.Value, s.Err, c.wantLost, c.wantValue)
				}
				if !s.Lost && (s.RTT <= 0 || s.RTT > 40*time.Millisecond) {
					t.Errorf("seq %d: RTT %v outside (0, timeout]", s.Seq, s.RTT)
				}
				if s.Sent < s.Scheduled {
					t.Errorf("seq %d: sent %v before scheduled %v", s.Seq, s.Sent, s.Scheduled)
				}
			}
		})
	}
}

func TestSNMPUnreachableIsTimeout(t *testing.T) {
	// A port nobody listens on: with an unconnected socket the ICMP error
	// is not seen, so every poll is a timeout.
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	p, err := probes.NewSNMP(probes.Spec{
		Name: "snmp", Address: "127.0.0.1", Interval: 30 * time.Millisecond, Timeout: 20 * time.Millisecond, Clock: probes.NewClock(),
	}, probes.SNMPConfig{Port: uint16(port), Community: "unseen-community"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range collect(t, p, 200*time.Millisecond) {
		if !s.Lost || s.Err != "timeout" {
			t.Errorf("seq %d: lost=%t err=%q, want a timeout", s.Seq, s.Lost, s.Err)
		}
	}
}
