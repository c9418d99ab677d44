#!/bin/sh
# /init of the downtime lab guest: busybox sh, PID 1, no udev, no systemd.
# Parameters come from the kernel command line (dtlab.*=...).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /run /var/log /var/lib/snmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
hostname guest

arg() {
	for kv in $(cat /proc/cmdline); do
		case "$kv" in "$1="*) echo "${kv#*=}" ;; esac
	done
}
IP4=$(arg dtlab.ip4)
IP6=$(arg dtlab.ip6)
BOND=$(arg dtlab.bond)

# Addresses must work at once: no duplicate address detection.
echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad
echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad

while read -r m; do
	# Without a bond, no bond0 should appear in the guest.
	[ "$m" = bonding ] && [ "$BOND" != 1 ] && continue
	insmod "/lib/modules/$m.ko" || echo "dtlab: insmod $m failed"
done </etc/dtlab/modules

ip link set lo up
want=eth0
[ "$BOND" = 1 ] && want=eth1
i=0
while [ ! -e "/sys/class/net/$want" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

DEV=eth0
if [ "$BOND" = 1 ]; then
	# Loading bonding made bond0. busybox `ip link add type bond` ignores
	# the mode, so configure through sysfs, before enslaving.
	B=/sys/class/net/bond0/bonding
	[ -e /sys/class/net/bond0 ] || echo +bond0 >/sys/class/net/bonding_masters
	echo active-backup >$B/mode
	echo 100 >$B/miimon
	echo none >$B/fail_over_mac
	echo 3 >$B/num_grat_arp
	echo 3 >$B/num_unsol_na
	ip link set eth0 down
	ip link set eth1 down
	echo +eth0 >$B/slaves
	echo +eth1 >$B/slaves
	echo eth0 >$B/primary
	DEV=bond0
fi
echo 0 >/proc/sys/net/ipv6/conf/$DEV/accept_dad
ip link set $DEV up
[ -n "$IP4" ] && ip addr add "$IP4" dev $DEV
[ -n "$IP6" ] && ip -6 addr add "$IP6" dev $DEV

/usr/sbin/dropbear -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -E 2>>/var/log/dropbear.log
/usr/sbin/snmpd -C -c /etc/snmp/snmpd.conf -Lf /var/log/snmpd.log -p /run/snmpd.pid udp:161,udp6:161
nc -ll -p 7 -e /bin/cat &

echo "DOWNTIME-LAB-READY uptime $(cut -d" " -f1 /proc/uptime)s" >/dev/console
# PID 1 must never exit.
while :; do sleep 3600; done
