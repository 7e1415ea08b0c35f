#!/usr/bin/env bash
# fuzz.sh [PACKAGE...]
#
# Runs every Go fuzz target of the packages (default: all of ours) under the
# fuzzer for FUZZTIME each (default 60s; a count such as 2000x runs that
# many inputs). With SAVE_CORPUS=1 the inputs the fuzzer found interesting
# are copied into each package's testdata/fuzz, the corpus that every
# `go test` replays and that is committed.
#
# A duration can end in Go's own coordinator race (golang/go: the run fails
# with a bare "context deadline exceeded" as the time runs out, writing no
# failing input); that is reported and not counted as a failure. Any
# failure that writes an input is one.
set -euo pipefail
cd "$(dirname "$0")/../.."

fuzztime=${FUZZTIME:-60s}
cache=$(go env GOCACHE)/fuzz/$(go list -m)
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)

for pkg in "${pkgs[@]}"; do
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | cut -c6-); do
    echo "fuzz: $pkg $target for $fuzztime" >&2
    before=$(ls "$pkg/testdata/fuzz/$target" 2>/dev/null | wc -l)
    if ! out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
      echo "$out"
      after=$(ls "$pkg/testdata/fuzz/$target" 2>/dev/null | wc -l)
      if [ "$after" = "$before" ] && grep -q '^    context deadline exceeded$' <<<"$out"; then
        echo "fuzz: $target: the fuzzing coordinator's deadline race, no failing input: not a failure" >&2
      else
        exit 1
      fi
    else
      echo "$out" | tail -3
    fi
    if [ "${SAVE_CORPUS:-}" = 1 ] && [ -d "$cache/${pkg#./}/$target" ]; then
      mkdir -p "$pkg/testdata/fuzz/$target"
      cp -n "$cache/${pkg#./}/$target"/* "$pkg/testdata/fuzz/$target/"
    fi
  done
done
