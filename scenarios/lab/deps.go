package lab

import (
	"fmt"
	"os"
	"os/exec"
)

// labPrograms are what the lab runs or copies into its guest.
var labPrograms = []string{"qemu-system-x86_64", "busybox", "dropbear", "dropbearkey", "snmpd", "ping", "ldd", "apt-get", "dpkg"}

// Missing says which program the lab needs and this machine lacks (and how
// to get it), or nil when the lab can run here.
func Missing() error {
	for _, bin := range labPrograms {
		if _, err := exec.LookPath(bin); err == nil {
			continue
		}
		if _, err := os.Stat("/usr/sbin/" + bin); err == nil {
			continue
		}
		return fmt.Errorf("the lab needs %s (install it with scenarios/lab/install-deps.sh, or make deps)", bin)
	}
	return nil
}
