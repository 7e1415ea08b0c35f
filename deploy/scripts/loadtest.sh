#!/usr/bin/env bash
# loadtest.sh: requests per second and latency percentiles of the standalone
# on PostgreSQL, measured with wrk at 64 connections on 127.0.0.1, for
# POST /v1/chirps, GET /v1/chirps/{id} and GET /v1/chirps?limit=20.
#
# Run it through with-postgres.sh (make loadtest does), or with
# TEST_DATABASE_URL pointing at a server where it may create a database.
# DURATION (default 15s) and CONNECTIONS (default 64) tune the runs.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${TEST_DATABASE_URL:?run through deploy/scripts/with-postgres.sh}"
duration=${DURATION:-15s}
conns=${CONNECTIONS:-64}
port=${PORT:-18080}

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
  else
    echo "loadtest: wrk is not installed (Debian: apt-get install wrk)" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
db="chirper_load_$$"
psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $db"
db_url=$(printf '%s' "$TEST_DATABASE_URL" | sed -E "s#(://[^/]*)/[^?]*#\1/$db#")
go build -trimpath -o "$work/standalone" ./cmd/standalone

CHIRPER_DATABASE_URL="$db_url" CHIRPER_DATA_DIR="$work/data" CHIRPER_HTTP_ADDR="127.0.0.1:$port" \
CHIRPER_ADMIN_ADDR="" CHIRPER_RATE_LIMIT=0 CHIRPER_LOGIN_LIMIT_PER_USERNAME=0 \
CHIRPER_LOGIN_LIMIT_PER_ADDRESS=0 CHIRPER_REGISTER_LIMIT_PER_ADDRESS=0 CHIRPER_LOG_LEVEL=warn "$work/standalone" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -fs -X POST "$base/v1/users" -H 'Content-Type: application/json' \
  -d '{"username":"loader","password":"load test password"}' >/dev/null
token=$(curl -fs -X POST "$base/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"loader","password":"load test password"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"message":"load test chirp #load","tags":["wrk"]}'
LUA

report() {
  local name=$1; shift
  wrk -t2 -c"$conns" -d"$duration" --latency "$@" >"$work/out.txt"
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/out.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/out.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/out.txt")
  printf '%-28s %10s req/s   p99 %8s   non-2xx %s\n' "$name" "$rps" "$p99" "${non2xx:-0}"
}

echo "wrk, $conns connections, $duration each, standalone on PostgreSQL, $(nproc) cores shared by all"
report "POST /v1/chirps" -s "$work/post.lua" "$base/v1/chirps"
report "GET /v1/chirps/{id}" "$base/v1/chirps/1000"
report "GET /v1/chirps?limit=20" "$base/v1/chirps?limit=20"
