#!/usr/bin/env bash
# A Docker engine of our own, for make images and make compose-test on a
# machine where none runs (CI): it installs Debian's docker.io and
# docker-compose when missing (as root), starts dockerd on its own socket and
# data root, and on stop undoes what dockerd changed on the host: its
# iptables chains and rules, its bridge, its mounts.
#
#   deploy/scripts/dockerd.sh start   prints DOCKER_HOST=... for eval
#   deploy/scripts/dockerd.sh stop
#   deploy/scripts/dockerd.sh run CMD...   start, run CMD with DOCKER_HOST set, stop (also when CMD fails)
#   deploy/scripts/dockerd.sh can          exit 0 when an engine answers or can be started here
#
# run uses an engine that already answers (DOCKER_HOST, or the default
# socket) instead of starting one. It exits 3, saying why, when no engine
# can be started here (no root to install it, or dockerd fails).
set -euo pipefail

root=/tmp/chirper-dockerd
sock="unix://$root/docker.sock"

need() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" != 0 ]; then
    echo "dockerd.sh: ${missing[*]} missing, and only root may install them" >&2
    return 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start() {
  need
  mkdir -p "$root"
  # What dockerd changes and stop puts back: FORWARD's policy, ip_forward.
  iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" {print $3}' >"$root/forward.policy" || true
  sysctl -n net.ipv4.ip_forward >"$root/ip_forward" 2>/dev/null || true
  dockerd --data-root "$root/data" --exec-root "$root/exec" --pidfile "$root/dockerd.pid" \
    -H "$sock" >"$root/dockerd.log" 2>&1 &
  for _ in $(seq 1 100); do
    if DOCKER_HOST="$sock" docker version >/dev/null 2>&1; then
      echo "DOCKER_HOST=$sock"
      return
    fi
    sleep 0.2
  done
  echo "dockerd.sh: dockerd did not start; its log:" >&2
  cat "$root/dockerd.log" >&2
  stop
  return 1
}

stop() {
  if [ -f "$root/dockerd.pid" ]; then
    local pid
    pid=$(cat "$root/dockerd.pid")
    DOCKER_HOST="$sock" docker ps -q 2>/dev/null | xargs -r env DOCKER_HOST="$sock" docker rm -f >/dev/null 2>&1 || true
    # The data root is kept, so that the next run reuses the tagged
    # images; what the run left besides goes: untagged images (each
    # rebuild leaves the last build's layers behind), build cache, unused
    # networks and volumes. Kept, they filled 64 GB of disk over a day of
    # runs.
    DOCKER_HOST="$sock" docker system prune -f --volumes >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    rm -f "$root/dockerd.pid"
  fi
  pkill -f "containerd --config $root" 2>/dev/null || true
  # Mounts under the data root (overlay layers, container shm, netns).
  grep " $root" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  # Bridges that compose networks made (br-*), and docker0.
  for br in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(br-|docker0)' || true); do
    ip link delete "$br" 2>/dev/null || true
  done
  # dockerd's iptables rules (those that jump to its chains, and its
  # masquerading of its networks), then its chains.
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*(-j DOCKER|-o docker0|-o br-|-i docker0|-i br-)' |
      sed 's/^-A/-D/' | while read -r rule; do
        eval "iptables -t $table $rule" 2>/dev/null || true
      done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N DOCKER/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N DOCKER/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
  if [ -s "$root/forward.policy" ]; then
    iptables -P FORWARD "$(cat "$root/forward.policy")" 2>/dev/null || true
  fi
  if [ -s "$root/ip_forward" ]; then
    sysctl -qw net.ipv4.ip_forward="$(cat "$root/ip_forward")" 2>/dev/null || true
  fi
}

case "${1:-}" in
  can)
    if docker info >/dev/null 2>&1; then exit 0; fi
    if start >/dev/null; then stop; exit 0; fi
    stop
    exit 1
    ;;
  start) start ;;
  stop) stop ;;
  run)
    shift
    if docker info >/dev/null 2>&1; then
      exec "$@"
    fi
    if ! env_line=$(start); then
      echo "dockerd.sh: no Docker engine could be started here" >&2
      exit 3
    fi
    export "${env_line?}"
    status=0
    "$@" || status=$?
    stop
    exit $status
    ;;
  *) echo "usage: $0 can|start|stop|run CMD..." >&2; exit 2 ;;
esac
