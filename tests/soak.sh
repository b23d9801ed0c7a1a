#!/usr/bin/env bash
# The fault tests at length (`make soak`): each part runs as its own go test
# step, every part runs even when an earlier one failed, and a table of
# PASS/FAIL with durations closes the run; the exit status is non-zero if
# any part failed. The lengths come from the environment (FAULT_KILLS,
# FAULT_HUB_RESTARTS, OUTBOX_KILLS, ...; see tests/fault/doc.go;
# QH_WORKSHOP_SEEDS for the workshop fold's property test), which the
# Makefile's soak target sets.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
go=${GO:-go}
long=(-count=1 -timeout 30m -v)

# name;package;selection, in order. The last fault part is every fault test
# the two long ones leave, so new fault tests run here too.
parts=(
  "fault: agent kills (FAULT_KILLS=${FAULT_KILLS:-default});./tests/fault/;-run=^TestKillAgent$"
  "fault: hub restarts (FAULT_HUB_RESTARTS=${FAULT_HUB_RESTARTS:-default});./tests/fault/;-run=^TestHubRestartMidBatch$"
  "fault: the other fault tests;./tests/fault/;-skip=^(TestKillAgent|TestHubRestartMidBatch)$"
  "outbox: kill -9 (OUTBOX_KILLS=${OUTBOX_KILLS:-default});./kiosk/outbox/;-run=Kill9"
  "workshop: fold property (QH_WORKSHOP_SEEDS=${QH_WORKSHOP_SEEDS:-default});./internal/workshop/;-run=^TestProperty"
)

names=() results=() secs=()
failed=0
for part in "${parts[@]}"; do
  IFS=";" read -r name pkg sel <<<"$part"
  echo "== soak: $name"
  begin=$SECONDS
  if "$go" test "${long[@]}" "$sel" "$pkg"; then
    results+=(PASS)
  else
    results+=(FAIL)
    failed=$((failed + 1))
  fi
  names+=("$name") secs+=($((SECONDS - begin)))
done

echo
echo "soak summary:"
for i in "${!names[@]}"; do
  printf '  %-4s  %6ss  %s\n' "${results[i]}" "${secs[i]}" "${names[i]}"
done
echo "soak: $((${#names[@]} - failed)) passed, $failed failed"
((failed == 0))
