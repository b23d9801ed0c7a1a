#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 10s).
# go test -fuzz takes one target per run, so list them and loop.
set -euo pipefail
fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."
pkgs=$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
status=0
for dir in $pkgs; do
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    echo "== fuzz $dir $target ($fuzztime)"
    log=$(mktemp)
    if CGO_ENABLED=0 go test "$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -timeout 0 >"$log" 2>&1; then
      tail -1 "$log"
    else
      # Show why: the failing input is saved under $dir/testdata/fuzz.
      grep -v '^fuzz: elapsed' "$log" | cut -c1-300 | tail -30
      status=1
    fi
    rm -f "$log"
  done
done
exit $status
