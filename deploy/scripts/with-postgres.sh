#!/usr/bin/env bash
# with-postgres.sh COMMAND [ARG...]
#
# Runs COMMAND with TEST_DATABASE_URL pointing at a PostgreSQL server. When
# TEST_DATABASE_URL is already set, that server is used as it is. Otherwise a
# throwaway cluster is created from the PostgreSQL server binaries (installed
# with apt-get first when they are missing and we are root), started on a
# Unix socket in a temporary folder, and removed when COMMAND ends, whether
# it passed or failed. PostgreSQL refuses to run as root, so as root the
# cluster runs as the postgres user.
set -euo pipefail

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [ -x "$d/initdb" ]; then echo "$d"; return; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

bindir=$(find_bindir || true)
if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "with-postgres: installing the PostgreSQL server binaries (apt-get install postgresql)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    bindir=$(find_bindir)
  else
    echo "with-postgres: no PostgreSQL server binaries (initdb) found; install PostgreSQL or set TEST_DATABASE_URL" >&2
    exit 1
  fi
fi

run_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/chirper-pg.XXXXXX")
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres; chown postgres "$dir"; }

cleanup() {
  run_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# No TCP listener: the socket in $dir cannot clash with anything else here.
opts="-c listen_addresses='' -k $dir -c max_connections=300 -c shared_buffers=256MB"
# Durability is off unless PG_DURABLE=1 (benchmarks): this cluster lives for
# one run.
[ "${PG_DURABLE:-}" = 1 ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
run_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }

# TEST_PG_CTL stop|start: for the fault tests that take the server away.
cat >"$dir/pg_ctl" <<SH
#!/usr/bin/env bash
set -euo pipefail
case "\$1" in
  stop)  $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres --" ) "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
  start) $( [ "$(id -u)" = 0 ] && echo "runuser -u postgres --" ) "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
SH
chmod 755 "$dir/pg_ctl"
export TEST_PG_CTL="$dir/pg_ctl"
export TEST_DATABASE_URL="postgres://postgres@/postgres?host=$dir&sslmode=disable"
echo "with-postgres: throwaway PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $dir" >&2
"$@"
