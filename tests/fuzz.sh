#!/usr/bin/env bash
# Runs every Go fuzz target in the module (every `func FuzzXxx` in a
# _test.go file) for FUZZTIME each: a duration such as 10m, or a count of
# executions such as 100000x, given as the first argument or in FUZZTIME.
# Default 10s.
#
# go test -fuzz takes one target per run, so the targets run as separate
# processes, FUZZJOBS at a time (default: the number of cores), each with
# -parallel so that together they use the cores (at least one worker
# each). Each target's output goes to its own temporary log, printed when
# that target finishes, and a summary of all targets closes the run. Every
# target runs even when another fails; the exit status is non-zero if any
# FAILED.
#
# How a run is judged:
#   passed  go test exited 0.
#   FAILED  a new reproducer appeared under <pkg>/testdata/fuzz/<Target>/
#           (it is printed), or the run failed for any other reason than the
#           one below (build error, failing seed or stored corpus entry, ...).
#   FLAKE   the run failed with nothing but the bare "context deadline
#           exceeded" of Go's fuzzing coordinator, at or after a duration
#           FUZZTIME, and wrote no reproducer.
#
# Why FLAKE: with a duration -fuzztime, internal/fuzz.CoordinateFuzzing
# puts the time box on a parent context and only forgives that deadline
# when its child context already reports it too; context cancels the parent
# before its children, so a coordinator that wakes in between reports the
# plain end of the time box as a failure (golang/go#75804, fixed in Go 1.27,
# present in every Go 1.26 release). That failure carries no input: every
# crash the engine finds is minimised and written to testdata/fuzz/<Target>
# before the target fails. So a new file there is the one sure sign of a
# real crasher. The rule is deliberately narrower than "no reproducer means
# flake": a target that fails to build, whose seeds or stored crashers still
# fail (no new file is written for those), or that ends early for another
# reason is a real failure and must stay red. A count such as 100000x sets
# no deadline at all, so there a deadline message is never excused (this is
# why `make test` counts executions). Retrying flakes would only buy the
# same race again for another FUZZTIME. Running with GOTOOLCHAIN=go1.27.3
# (fetched through the module proxy) avoids the race altogether; the script
# does not depend on it so that it works on the installed toolchain.
set -euo pipefail
# Each target in its own process group, so an interrupted run can end it
# with the go test and fuzzing workers below it.
set -m
fuzztime="${1:-${FUZZTIME:-10s}}"
cd "$(dirname "$0")/.."

cores=$(nproc 2>/dev/null || echo 1)
maxjobs="${FUZZJOBS:-$cores}"
if ! [[ $maxjobs =~ ^[1-9][0-9]*$ ]]; then
  echo "FUZZJOBS=$maxjobs: want a positive integer" >&2
  exit 2
fi
parallel=$((cores / maxjobs))
((parallel >= 1)) || parallel=1

# fuzztime in seconds for a duration such as 90s, 10m or 1h30m; empty for
# a count of executions (or a form this does not parse: then no deadline
# failure is excused).
deadline_seconds() {
  local t=$1 total=0 re='^([0-9]+(\.[0-9]+)?)(h|m|s)(.*)$'
  [[ -n $t && $t != *x ]] || return 0
  while [[ -n $t ]]; do
    [[ $t =~ $re ]] || return 0
    case ${BASH_REMATCH[3]} in
    h) total=$(awk -v a="$total" -v b="${BASH_REMATCH[1]}" 'BEGIN{print a+b*3600}') ;;
    m) total=$(awk -v a="$total" -v b="${BASH_REMATCH[1]}" 'BEGIN{print a+b*60}') ;;
    s) total=$(awk -v a="$total" -v b="${BASH_REMATCH[1]}" 'BEGIN{print a+b}') ;;
    esac
    t=${BASH_REMATCH[4]}
  done
  echo "$total"
}
deadline=$(deadline_seconds "$fuzztime")
# A counted run (make test's 30000x) is a quick shake: each new
# interesting input is minimised for a bounded number of executions, not
# go test's default minute, which on two cores let one target (FuzzGunzip,
# a few compressions per execution) stall for minutes.
minimize=()
[ -z "$deadline" ] && minimize=(-fuzzminimizetime 1000x)

dirs=() targets=()
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    dirs+=("$dir") targets+=("$target")
  done
done
n=${#targets[@]}
if ((n == 0)); then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

tmp=$(mktemp -d)
declare -A index_of_pid=()
cleanup() {
  for pid in "${!index_of_pid[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

corpus_listing() { # the stored inputs of target i, one name a line
  ls -1 "${dirs[$1]}/testdata/fuzz/${targets[$1]}" 2>/dev/null | sort || true
}

# bare_deadline LOG TARGET prints the seconds go test reported for the
# target if its only failure is the coordinator's deadline message.
bare_deadline() {
  grep -q -e 'Failing input written to' -e '^panic:' -e 'failure while testing seed corpus' "$1" && return 0
  awk -v t="$2" '
    $0 ~ "^--- FAIL: " t " \\(" { secs = $4; gsub(/[()s]/, "", secs); want = NR + 1; next }
    NR == want && $0 ~ /^[ \t]+context deadline exceeded$/ { found = secs }
    END { if (found != "") print found }' "$1"
}

start() {
  local i=$1
  corpus_listing "$i" >"$tmp/$i.before"
  (
    begin=$SECONDS
    rc=0
    CGO_ENABLED=0 go test "${dirs[$i]}" -run '^$' -fuzz "^${targets[$i]}\$" \
      -fuzztime "$fuzztime" "${minimize[@]}" -parallel "$parallel" -timeout 0 >"$tmp/$i.log" 2>&1 || rc=$?
    echo "$rc $((SECONDS - begin))" >"$tmp/$i.rc.part"
    mv "$tmp/$i.rc.part" "$tmp/$i.rc"
  ) &
  index_of_pid[$!]=$i
}

results=() durations=()
failed=0 flaked=0 passed=0 reported=0
finish() {
  local i=$1 rc secs new name log="$tmp/$1.log"
  read -r rc secs <"$tmp/$i.rc"
  durations[i]="${secs}s"
  name="${dirs[$i]#./} ${targets[$i]}"
  new=$(corpus_listing "$i" | comm -13 "$tmp/$i.before" -)
  reported=$((reported + 1))
  if ((rc == 0)); then
    results[i]=passed
    passed=$((passed + 1))
    echo "== [$reported/$n] passed  $name (${secs}s): $(tail -1 "$log")"
    return
  fi
  if [[ -n $new ]]; then
    results[i]="FAILED"
    failed=$((failed + 1))
    echo "== [$reported/$n] FAILED  $name (${secs}s): new reproducer"
    grep -v '^fuzz: elapsed' "$log" | cut -c1-300 | tail -30
    local f path
    for f in $new; do
      path="${dirs[$i]#./}/testdata/fuzz/${targets[$i]}/$f"
      results[i]+=" $path"
      echo "-- $path:"
      head -c 2000 "$path"
      echo
    done
    return
  fi
  local secs_reported
  secs_reported=$(bare_deadline "$log" "${targets[$i]}")
  if [[ -n $deadline && -n $secs_reported ]] &&
    awk -v got="$secs_reported" -v want="$deadline" 'BEGIN{exit !(got >= want)}'; then
    results[i]="FLAKE (deadline race, no reproducer)"
    flaked=$((flaked + 1))
    echo "== [$reported/$n] FLAKE   $name (${secs}s): context deadline exceeded at the end of the time box, no reproducer (golang/go#75804)"
    grep -v '^fuzz: elapsed' "$log" | tail -5
    return
  fi
  results[i]="FAILED (exit $rc, no new reproducer; see log above)"
  failed=$((failed + 1))
  echo "== [$reported/$n] FAILED  $name (${secs}s): exit $rc"
  grep -v '^fuzz: elapsed' "$log" | cut -c1-300 | tail -30
}

echo "fuzz: $n targets, $fuzztime each, $maxjobs at a time with -parallel $parallel"
next=0
while ((reported < n)); do
  while ((next < n && ${#index_of_pid[@]} < maxjobs)); do
    start "$next"
    next=$((next + 1))
  done
  wait -n || true
  # Report every target that has finished (its status file is written
  # last), in the order they are found.
  reaped=0
  for pid in "${!index_of_pid[@]}"; do
    i=${index_of_pid[$pid]}
    [[ -f $tmp/$i.rc ]] || continue
    unset "index_of_pid[$pid]"
    finish "$i"
    reaped=$((reaped + 1))
  done
  if ((reaped == 0)) && ! jobs -r | grep -q .; then
    echo "fuzz: lost track of running targets" >&2
    exit 1
  fi
done

echo
echo "fuzz summary ($fuzztime per target):"
for ((i = 0; i < n; i++)); do
  printf '  %-7s %-28s %-22s %s\n' "${results[i]%% *}" "${dirs[i]#./}" "${targets[i]}" \
    "${durations[i]}$([[ ${results[i]} == *' '* ]] && echo "  ${results[i]#* }")"
done
echo "fuzz totals: $n targets, $passed passed, $flaked flake, $failed failed"
((failed == 0))
