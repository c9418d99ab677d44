#!/usr/bin/env bash
# Soak test (make soak; not run in CI): one long run of icmp at 10 ms, ssh
# and snmp at 100 ms against a real sshd and snmpd in a server namespace.
# It samples the runner's resident memory every minute, then checks that
# samples.csv holds every attempt exactly once (no duplicate and no
# missing seq per probe), and prints the memory at start and end.
#
#   SOAK=1h (default) | SOAK=5m ...   how long the probes run
#   BIN=bin/downtime                   the binary under test
#   OUT=runs/soak-DATE                 where the run directory and rss.log go
set -euo pipefail

SOAK=${SOAK:-1h}
BIN=$(realpath "${BIN:-bin/downtime}")
OUT=$(realpath -m "${OUT:-runs/soak-$(date +%Y%m%d-%H%M%S)}")
[ "$(id -u)" = 0 ] || { echo "soak: needs root (network namespaces)" >&2; exit 2; }
for b in "$BIN" /usr/sbin/sshd /usr/sbin/snmpd ssh-keygen ip; do
	command -v "$b" >/dev/null || { echo "soak: $b not found (make deps build)" >&2; exit 2; }
done

# Namespaces with a unique prefix, always deleted; daemons killed by PID.
pref="dtsoak$$"
cli="${pref}c" srv="${pref}s"
net="10.251.$((RANDOM % 250))"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
	ip netns del "$cli" 2>/dev/null || true
	ip netns del "$srv" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$cli"
ip netns add "$srv"
ip link add "${pref}a" netns "$cli" type veth peer name "${pref}b" netns "$srv"
ip -n "$cli" addr add "$net.1/24" dev "${pref}a"
ip -n "$srv" addr add "$net.2/24" dev "${pref}b"
for ns in "$cli" "$srv"; do ip -n "$ns" link set lo up; done
ip -n "$cli" link set "${pref}a" up
ip -n "$srv" link set "${pref}b" up

# sshd: a fresh host key and client key, root by key only.
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/host" -C soak
ssh-keygen -q -t ed25519 -N '' -f "$work/id" -C soak
cp "$work/id.pub" "$work/authorized_keys"
cat >"$work/sshd_config" <<EOF
Port 22
ListenAddress $net.2
HostKey $work/host
AuthorizedKeysFile $work/authorized_keys
UsePAM no
StrictModes no
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
echo "$net.2 $(cat "$work/host.pub")" >"$work/known_hosts"
ip netns exec "$srv" /usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
pids+=($!)
# The ssh probe's first dial must find sshd listening.
for _ in $(seq 100); do grep -q "Server listening" "$work/sshd.log" && break; sleep 0.1; done
grep -q "Server listening" "$work/sshd.log" || { echo "soak: sshd did not start:" >&2; cat "$work/sshd.log" >&2; exit 1; }

community="soak$RANDOM$RANDOM"
echo "rocommunity $community default" >"$work/snmpd.conf"
SNMP_PERSISTENT_DIR="$work/snmp" MIBS= ip netns exec "$srv" /usr/sbin/snmpd -f -C -c "$work/snmpd.conf" -Lf "$work/snmpd.log" "udp:$net.2:161" &
pids+=($!)

cat >"$work/soak.yaml" <<EOF
name: soak
netns: $cli
targets:
  server: {address: $net.2}
probes:
  - {name: icmp, kind: icmp, target: server, interval: 10ms}
  - {name: ssh, kind: ssh, target: server, interval: 100ms, user: root, identity_file: $work/id, known_hosts: $work/known_hosts}
  - {name: snmp, kind: snmp, target: server, interval: 100ms, community_env: SOAK_COMMUNITY}
baseline: 5s
settle: 5s
triggers:
  - {name: soak, kind: wait, duration: $SOAK}
EOF

mkdir -p "$(dirname "$OUT")"
rss="$OUT.rss.log"
echo "soak: $SOAK of icmp 10ms + ssh 100ms + snmp 100ms into $OUT (memory in $rss)"
# Started inside the namespace, the runner is this very PID (no re-exec).
SOAK_COMMUNITY=$community ip netns exec "$cli" "$BIN" run -q -o "$OUT" "$work/soak.yaml" >"$work/stdout" 2>"$work/stderr" &
run=$!
pids+=($run)

vmrss() { awk '/^VmRSS/ {print $2}' "/proc/$run/status" 2>/dev/null || true; }
start=$SECONDS
echo "elapsed_s rss_kib" >"$rss"
sleep 5
first=$(vmrss)
echo "$((SECONDS - start)) $first" >>"$rss"
last=$first
while kill -0 "$run" 2>/dev/null; do
	for _ in $(seq 60); do kill -0 "$run" 2>/dev/null && sleep 1; done
	r=$(vmrss)
	if [ -n "$r" ]; then
		last=$r
		echo "$((SECONDS - start)) $r" >>"$rss"
	fi
done
set +e
wait "$run"
code=$?
set -e
cat "$work/stdout"
[ "$code" -le 1 ] || { echo "soak: downtime exited $code:" >&2; cat "$work/stderr" >&2; }

# Every attempt once: per probe, seqs are unique and contiguous. The
# first three columns (probe, target, seq) are never quoted.
echo "samples.csv: per probe, rows, seq range, duplicates, missing"
awk -F, -v flag="$work/bad" 'NR > 1 {
	k = $1; n[k]++
	if ((k, $3) in seen) dup[k]++
	seen[k, $3] = 1
	if (!(k in lo) || $3 + 0 < lo[k]) lo[k] = $3 + 0
	if ($3 + 0 > hi[k]) hi[k] = $3 + 0
}
END {
	bad = 0
	for (k in n) {
		missing = (hi[k] - lo[k] + 1) - (n[k] - dup[k])
		printf "  %-5s %8d rows  seq %d..%d  %d duplicate  %d missing\n", k, n[k], lo[k], hi[k], dup[k], missing
		if (dup[k] + missing > 0) bad = 1
	}
	print bad > flag
}' "$OUT/samples.csv"
bad=$(cat "$work/bad")
# The last reading can fall after the probes stopped, while the runner reads
# every sample back to analyse it: report it apart from the run's readings.
during=$(awk 'NR > 1 { v[NR] = $2 } END { m = 0; for (i = 2; i < NR; i++) if (v[i] > m) m = v[i]; print m }' "$rss")
echo "rss: start ${first} KiB, at most ${during} KiB while probing, last reading ${last} KiB (it may fall in the final analysis; every minute in $rss)"
if [ "$bad" != 0 ] || [ "$code" -gt 1 ]; then
	echo "soak: FAIL" >&2
	exit 1
fi
echo "soak: ok"
