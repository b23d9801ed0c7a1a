#!/usr/bin/env bash
# Runs the unit tests as `make test` does and lists the ten slowest
# packages, so whoever makes the suite slower sees where.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -count=1 ./... >"$log" 2>&1
status=$?
grep -E '^(FAIL|---)' "$log" | head -20
echo "ten slowest test packages:"
awk '$1 == "ok" || $1 == "FAIL" { t = $NF; if (t ~ /s$/) { sub(/s$/, "", t); printf "%8.1f s  %s\n", t, $2 } }' "$log" | sort -rn | head -10
exit $status
