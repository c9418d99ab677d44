#!/bin/sh
# make demo: install what is missing, build, bring the lab up, live-migrate
# the guest there and back while the probes measure it, print where the
# timeline and the report are, and take the lab down again (always).
set -eu
cd "$(dirname "$0")/../.."

sh scenarios/lab/install-deps.sh
echo "demo: go build -o bin/downtime ./cmd/downtime"
go build -o bin/downtime ./cmd/downtime

# The scenario's standby step runs `downtime lab standby`: use this build.
PATH="$PWD/bin:$PATH"
export PATH

trap 'bin/downtime lab down' EXIT
trap 'exit 130' INT TERM
bin/downtime lab up

run="runs/demo-$(date +%Y%m%d-%H%M%S)"
code=0
bin/downtime run -o "$run" scenarios/lab/live-migration.yaml || code=$?

echo
echo "demo: timeline  $PWD/$run/timeline.png"
echo "demo: report    $PWD/$run/report.md"
echo "demo: all files $PWD/$run/"
# Exit 1 is a verdict (a threshold failed), not a broken demo.
if [ "$code" -ge 2 ]; then
	exit "$code"
fi
