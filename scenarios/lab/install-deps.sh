#!/bin/sh
# Installs what the built-in lab and the probes need on Debian 12.
# Idempotent: on a machine that has everything it changes nothing.
# Package post-install scripts cannot start services on these machines;
# the lab starts every daemon itself, inside its guest.
set -eu

pkgs="qemu-system-x86 busybox-static dropbear-bin snmpd nftables iputils-ping iproute2 openssh-server socat fping"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: needs root (apt-get)" >&2
	exit 1
fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

# The lab also needs apt's package lists, to name and fetch the current
# guest kernel (apt-get download linux-image-*-cloud-amd64).
have_lists=no
if ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
	have_lists=yes
fi

if [ -z "$missing" ] && [ "$have_lists" = yes ]; then
	echo "install-deps.sh: everything is installed"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps.sh: apt-get update"
apt-get update -qq
if [ -n "$missing" ]; then
	echo "install-deps.sh: installing$missing"
	# shellcheck disable=SC2086 # word splitting wanted
	apt-get install -y -qq --no-install-recommends $missing
fi
