#!/usr/bin/env bash
# make images: builds every Dockerfile of the repository, unchanged, as
# chirper/NAME, and reports each image's size; a service image over 25 MB
# fails it. DOCKER_HOST must name the engine, and the base images must be
# there (base-images.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_BUILDKIT=0 # the legacy builder: BuildKit would fetch its Dockerfile frontend from a registry
failed=0
for dockerfile in cmd/standalone/Dockerfile cmd/services/*/Dockerfile deploy/local/Dockerfile; do
  name=$(basename "$(dirname "$dockerfile")")
  [ "$name" = local ] && name=gateway
  docker build -q -f "$dockerfile" -t "chirper/$name" . >/dev/null
  size=$(docker image inspect -f '{{.Size}}' "chirper/$name")
  verdict=ok
  case "$dockerfile" in
    cmd/services/*)
      if [ "$size" -gt 25000000 ]; then verdict="TOO LARGE (limit 25 MB)"; failed=1; fi ;;
  esac
  printf '%-38s chirper/%-14s %6.1f MB  %s\n' "$dockerfile" "$name" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')" "$verdict"
done
exit $failed
