package peers_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/downtime-lab/downtime/probes/sshdial"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/lab/peers"
)

// Every peer answers from the server namespace of a pair, reached from the
// client namespace, and is gone after Close.
func TestPeersAnswer(t *testing.T) {
	if err := peers.Available(); err != nil {
		t.Fatal(err)
	}
	p := netns.PairForTest(t)
	ctx := context.Background()

	sshd, err := peers.StartSSHD(p.Server.Name, p.Server4, 22, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sshd.Close() })
	echo, err := peers.StartEcho(p.Server.Name, p.Server6, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = echo.Close() })
	const community = "peers-test-community"
	snmpd, err := peers.StartSNMPD(ctx, p.Server.Name, p.Server4, 161, community, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = snmpd.Close() })

	err = p.Client.Do(func() error {
		c, err := sshdial.Dial(ctx, sshdial.Config{Host: p.Server4.String(), Port: 22, User: "root",
			IdentityFile: sshd.IdentityFile, KnownHosts: sshd.KnownHosts, Timeout: 5 * time.Second})
		if err != nil {
			return fmt.Errorf("ssh: %w", err)
		}
		defer c.Close()
		if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
			return fmt.Errorf("ssh keepalive: %w", err)
		}

		conn, err := net.DialTimeout("tcp", echo.HostPort(), 5*time.Second)
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintln(conn, "hello echo")
		if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || line != "hello echo\n" {
			return fmt.Errorf("echo answered %q, %v", line, err)
		}

		g := &gosnmp.GoSNMP{Target: p.Server4.String(), Port: 161, Community: community,
			Version: gosnmp.Version2c, Timeout: time.Second}
		if err := g.Connect(); err != nil {
			return err
		}
		defer g.Conn.Close()
		pkt, err := g.Get([]string{"1.3.6.1.2.1.1.3.0"})
		if err != nil || len(pkt.Variables) != 1 || pkt.Variables[0].Type != gosnmp.TimeTicks {
			return fmt.Errorf("snmp get: %v %+v", err, pkt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	for name, c := range map[string]interface{ Close() error }{"sshd": sshd, "echo": echo, "snmpd": snmpd} {
		if err := c.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second close %s: %v", name, err)
		}
	}
	if err := p.Client.Do(func() error {
		_, err := net.DialTimeout("tcp", echo.HostPort(), time.Second)
		return err
	}); err == nil {
		t.Error("echo still answers after Close")
	}
}
