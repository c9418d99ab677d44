#!/usr/bin/env bash
# bench.sh compares the CPU cost per probe of probes.ICMPGroup with fping's
# loop mode (-l; -Q 3600 is its quiet, -q is not with -l), pinging the same addresses at the same rate from the same
# network namespace, and optionally of one pro-bing probe per address.
#
# Two throwaway namespaces (unique prefix, deleted on exit whatever
# happens) joined by a veth: the server holds the targets as /32s on its
# loopback, the client routes to them through the veth. "probes sent" is
# the client kernel's Icmp OutEchos count, the same meter for every tool;
# CPU is user+sys of the tool's process tree (bash's `times`).
#
# Needs root, iproute2, fping 5.x and Go. Environment:
#   COUNTS   target counts to run (default "200 1000")
#   DUR      seconds per run (default 20)
#   PERIOD   ms between probes to one target (default 100)
#   SINGLE   target counts for which to also run one pro-bing probe per
#            target (default "200"; "" skips)
#   PROFILE  a directory: write CPU profiles of the Go runs there
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNTS=${COUNTS:-"200 1000"}
DUR=${DUR:-20}
PERIOD=${PERIOD:-100}
SINGLE=${SINGLE-200}
PROFILE=${PROFILE:-}
MAX=0
for n in $COUNTS; do ((n > MAX)) && MAX=$n; done
((MAX <= 1000)) || { echo "bench.sh: at most 1000 targets" >&2; exit 2; }

P=dtb$(printf '%04x' $((RANDOM)))$$
CLI=${P}c SRV=${P}s
TMP=$(mktemp -d)
cleanup() {
	ip netns del "$CLI" 2>/dev/null || true
	ip netns del "$SRV" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

go build -o "$TMP/icmpbench" ./probes/icmpbench

ip netns add "$CLI"
ip netns add "$SRV"
ip -n "$CLI" link set lo up
ip -n "$SRV" link set lo up
ip -n "$CLI" link add "${P:0:12}a" type veth peer name "${P:0:12}b" netns "$SRV"
ip -n "$CLI" addr add 10.250.0.1/30 dev "${P:0:12}a"
ip -n "$SRV" addr add 10.250.0.2/30 dev "${P:0:12}b"
ip -n "$CLI" link set "${P:0:12}a" up
ip -n "$SRV" link set "${P:0:12}b" up
ip -n "$CLI" route add 10.251.0.0/22 via 10.250.0.2
# Targets 10.251.0.1 onwards, consecutive, as /32s on the server's loopback.
for ((i = 1; i <= MAX; i++)); do
	echo "10.251.$((i / 256)).$((i % 256))"
done >"$TMP/all"
sed 's|.*|address add &/32 dev lo|' "$TMP/all" | ip -n "$SRV" -batch -
# Wait for the veth and resolve the gateway before measuring.
for ((i = 0; i < 50; i++)); do
	ip netns exec "$CLI" fping -q -c1 -t 100 10.251.0.1 2>/dev/null && break
	sleep 0.1
done

outechos() {
	ip netns exec "$CLI" awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "OutEchos") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# measure TOOL N CMD...: runs CMD in the client namespace, appends a row.
measure() {
	local tool=$1 n=$2
	shift 2
	local before after
	before=$(outechos)
	ip netns exec "$CLI" bash -c '"$@" >"'"$TMP"'/out" 2>&1; times' _ "$@" >"$TMP/times"
	after=$(outechos)
	# The second line of `times` is the children's user and sys time.
	local cpu
	cpu=$(sed -n 2p "$TMP/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%.0f", t * 1000 }')
	echo "$n $tool $((after - before)) $cpu" >>"$TMP/rows"
	tail -n 3 "$TMP/out" >&2
}

for n in $COUNTS; do
	head -n "$n" "$TMP/all" >"$TMP/addrs"
	gap=$(awk -v p="$PERIOD" -v n="$n" 'BEGIN { printf "%g", p / n }')
	measure fping "$n" timeout -s INT "$DUR" fping -l -Q 3600 -p "$PERIOD" -i "$gap" -f "$TMP/addrs"
	prof=()
	[[ -n $PROFILE ]] && prof=(-cpuprofile "$PROFILE/group-$n.pprof")
	measure group "$n" "$TMP/icmpbench" "${prof[@]}" -mode group -first 10.251.0.1 -n "$n" -interval "${PERIOD}ms" -duration "${DUR}s"
	for s in $SINGLE; do
		if [[ $s == "$n" ]]; then
			measure pro-bing "$n" "$TMP/icmpbench" -mode single -first 10.251.0.1 -n "$n" -interval "${PERIOD}ms" -duration "${DUR}s"
		fi
	done
done

printf '\n%-8s %-9s %12s %9s %13s %14s\n' targets tool "probes sent" "CPU ms" "µs CPU/probe" "ratio to fping"
awk '{
	us = $3 > 0 ? $4 * 1000 / $3 : 0
	if ($2 == "fping") base[$1] = us
	r = base[$1] > 0 ? sprintf("%.2f", us / base[$1]) : "-"
	printf "%-8s %-9s %12d %9d %13.2f %14s\n", $1, $2, $3, $4, us, r
}' "$TMP/rows"
