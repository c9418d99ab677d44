package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial/sshdtest"
	"github.com/downtime-lab/downtime/scenarios"
)

// The guest "reboots" mid-run: snmpd, sshd and the TCP echo peer are
// killed and started again. snmp reports the reboot (sysUpTime went
// back), ssh and tcp each report a reset and the time to reconnect.
func TestGuestReboot(t *testing.T) {
	sshdtest.NeedSSHD(t)
	p := pair(t)
	server := p.Server4.String()
	community := secret(t)
	snmpd := startSNMPD(t, p.Server, server, community)
	echo := startEcho(t, p.Server, server, 7)
	sshd := startSSHD(t, p)
	started := filepath.Join(t.TempDir(), "started")
	sc := writeScenario(t, `name: reboot
netns: %s
targets:
  guest: {address: %s}
probes:
  - {name: snmp, kind: snmp, target: guest, interval: 100ms, community_env: DT_TEST_COMMUNITY}
  - {name: echo, kind: tcp, target: guest, port: 7, interval: 50ms, timeout: 1s}
  - {name: ssh, kind: ssh, target: guest, interval: 100ms, timeout: 1s, user: root, identity_file: %s, known_hosts: %s}
baseline: 500ms
settle: 2s
triggers:
  - {name: reboot, kind: exec, argv: [sh, -c, 'touch %s; sleep 1.5']}
`, p.Client.Name, server, sshd.IdentityFile, sshd.KnownHosts, started)
	dir := filepath.Join(t.TempDir(), "run")
	c := startCLI(t, []string{"DT_TEST_COMMUNITY=" + community}, "run", "-q", "-o", dir, sc)
	waitFor(t, 30*time.Second, "the trigger", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	time.Sleep(200 * time.Millisecond)
	snmpd.kill()
	echo.kill()
	sshd.kill()
	time.Sleep(500 * time.Millisecond)
	snmpd.start()
	echo.start()
	sshd.restart(t, p.Server)

	if code := c.wait(t, 60*time.Second); code != scenarios.ExitPass {
		t.Fatalf("exit %d, want %d", code, scenarios.ExitPass)
	}
	rd := readRunDir(t, dir)
	if rd.summary.Partial {
		t.Fatalf("partial: %s", rd.summary.Reason)
	}
	for _, ps := range rd.summary.Probes {
		switch ps.Kind {
		case "snmp":
			if ps.Reboot == nil || !*ps.Reboot {
				t.Errorf("snmp did not report the reboot")
			}
		case "tcp", "ssh":
			if ps.Survived == nil || *ps.Survived || len(ps.Resets) == 0 {
				t.Errorf("%s: survived %v, resets %+v", ps.Name, ps.Survived, ps.Resets)
				continue
			}
			r := ps.Resets[0]
			// Down for at least the 500 ms the peer was away.
			if r.ReconnectMS <= 0 {
				t.Errorf("%s: reset %+v never reconnected", ps.Name, r)
			}
			t.Logf("%s: reset at %.0f ms, reconnected after %.0f ms: %s", ps.Name, r.AtMS, r.ReconnectMS, r.Error)
		}
	}
}
