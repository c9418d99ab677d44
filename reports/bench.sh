#!/usr/bin/env bash
# The benchmarks behind the README's figures (make bench).
# Go benchmarks only measure; no test ever depends on their speed.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-3}
echo "== reading back, analysing and reporting 1,000,000 samples (goal: < 3 s)"
go test -run '^$' -bench 'Report1M|Analyze1M|ReadSamples1M|WriteTimeline|WriteSample' \
	-benchmem -benchtime 3x -count "$count" ./reports/ | grep -E '^(Benchmark|ok|cpu)'
echo "== probe bookkeeping"
go test -run '^$' -bench . -benchmem -count "$count" ./probes/ | grep -E '^(Benchmark|ok|cpu)'
if [ -x probes/icmpbench/bench.sh ] && [ "$(id -u)" -eq 0 ]; then
	echo "== many targets: CPU per probe against fping"
	bash probes/icmpbench/bench.sh
fi
