#!/usr/bin/env bash
# fuzz.sh [PACKAGE...]
#
# Runs every Go fuzz target of the packages (default: all of ours) under the
# fuzzer for FUZZTIME each (default 60s). With SAVE_CORPUS=1 the inputs the
# fuzzer found interesting are copied into each package's testdata/fuzz, the
# corpus that every `go test` replays and that is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."

fuzztime=${FUZZTIME:-60s}
cache=$(go env GOCACHE)/fuzz/$(go list -m)
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)

for pkg in "${pkgs[@]}"; do
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | cut -c6-); do
    echo "fuzz: $pkg $target for $fuzztime" >&2
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
    if [ "${SAVE_CORPUS:-}" = 1 ] && [ -d "$cache/${pkg#./}/$target" ]; then
      mkdir -p "$pkg/testdata/fuzz/$target"
      cp -n "$cache/${pkg#./}/$target"/* "$pkg/testdata/fuzz/$target/"
    fi
  done
done
