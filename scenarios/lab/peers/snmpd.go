package peers

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
)

// snmpdPath is where Debian's snmpd package puts the agent.
const snmpdPath = "/usr/sbin/snmpd"

// SNMPD is a running Net-SNMP agent answering SNMPv2c GETs for one
// read-only community.
type SNMPD struct {
	Addr netip.Addr
	Port int

	d   *daemon
	dir string
}

// StartSNMPD runs snmpd inside namespace ns on udp addr:port, with its
// configuration, log and persistent state in dir (which must exist), and
// returns once it answers a GET. The community is a secret: it goes into
// the configuration file only, never onto a command line or into an error.
func StartSNMPD(ctx context.Context, ns string, addr netip.Addr, port int, community, dir string) (*SNMPD, error) {
	if err := need(snmpdPath, "snmpd"); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "snmpd.conf")
	body := "rocommunity " + community + " default\nrocommunity6 " + community + " default\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	listen := "udp:" + addr.String() + ":" + strconv.Itoa(port)
	if addr.Is6() {
		listen = "udp6:[" + addr.String() + "]:" + strconv.Itoa(port)
	}
	// -C: our conf only. The listen address goes on the command line only:
	// naming it in the conf as well makes snmpd bind twice and fail. -Le:
	// log to stderr, where start collects it.
	argv := []string{snmpdPath, "-f", "-C", "-c", conf, "-Le", listen}
	env := append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")
	d, err := start(ns, "snmpd", argv, env, nil)
	if err != nil {
		return nil, err
	}
	s := &SNMPD{Addr: addr, Port: port, d: d, dir: dir}
	if err := s.waitReady(ctx, ns, community); err != nil {
		_ = d.close()
		return nil, err
	}
	return s, nil
}

// waitReady polls the agent from inside its own namespace until it
// answers (snmpd takes a moment to start).
func (s *SNMPD) waitReady(ctx context.Context, ns, community string) error {
	g := &gosnmp.GoSNMP{
		Target: s.Addr.String(), Port: uint16(s.Port), Community: community,
		Version: gosnmp.Version2c, Timeout: 200 * time.Millisecond, Retries: 0,
	}
	if err := (&netns.NS{Name: ns}).Do(g.Connect); err != nil {
		return fmt.Errorf("peers: snmp socket in %s: %w", ns, err)
	}
	defer g.Conn.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		if _, err := g.Get([]string{"1.3.6.1.2.1.1.3.0"}); err == nil {
			return nil
		}
		select {
		case <-s.d.exited:
			return fmt.Errorf("peers: snmpd exited at start: %s", s.d.log.tail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("peers: snmpd not answering after %v: %s", startTimeout, s.d.log.tail())
		}
		if err := waitCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// Log returns what snmpd wrote so far (MIB warnings are harmless).
func (s *SNMPD) Log() string { return strings.TrimSpace(s.d.log.String()) }

// Close stops the agent.
func (s *SNMPD) Close() error { return s.d.close() }
