#!/usr/bin/env bash
# The base images the Dockerfiles and docker-compose.yml name, so that they
# build and run unchanged. Where a registry answers they are pulled. Where
# none does (this project's CI machines), local stand-ins are built under the
# exact same names, from what the machine has:
#
#   golang:1.26-bookworm        a Debian bookworm root (debootstrap) with the
#                               installed Go toolchain (/usr/local/go), the
#                               machine's CA certificates (its egress may
#                               re-sign TLS) and its GOPROXY, GOSUMDB, GOFLAGS
#   gcr.io/distroless/static-debian12:nonroot
#                               scratch with /etc/passwd and /etc/group (root,
#                               nonroot 65532, nobody), CA certificates, time
#                               zones, /tmp and /home/nonroot, USER 65532
#   postgres:15                 bookworm with Debian's postgresql-15 and an
#                               entrypoint that does what the official image
#                               does for POSTGRES_USER, POSTGRES_DB and
#                               POSTGRES_HOST_AUTH_METHOD=trust
#
# It prints which it did. DOCKER_HOST must name the engine (dockerd.sh).
set -euo pipefail
export DOCKER_BUILDKIT=0 # the legacy builder: BuildKit would fetch its Dockerfile frontend from a registry

cd "$(dirname "$0")/../.."
cache=bin/standin
mkdir -p "$cache"

images=(golang:1.26-bookworm gcr.io/distroless/static-debian12:nonroot postgres:15)

pulled=1
for img in "${images[@]}"; do
  if ! timeout 120 docker pull -q "$img" >/dev/null 2>&1; then
    pulled=0
    break
  fi
done
if [ "$pulled" = 1 ]; then
  echo "base-images: pulled ${images[*]} from the registry"
  exit 0
fi
echo "base-images: no registry answers; building local stand-ins of ${images[*]}" >&2

# A minimal bookworm root, made once and kept in bin/.
rootfs="$cache/bookworm.tar"
if [ ! -f "$rootfs" ]; then
  tmp=$(mktemp -d)
  debootstrap --variant=minbase --include=ca-certificates bookworm "$tmp/root" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
    || { echo "base-images: debootstrap failed; see $cache/debootstrap.log" >&2; rm -rf "$tmp"; exit 1; }
  tar -C "$tmp/root" -cf "$rootfs.tmp" .
  mv "$rootfs.tmp" "$rootfs"
  rm -rf "$tmp"
fi
docker import "$rootfs" chirper-standin/bookworm >/dev/null

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# golang: the bookworm root with the installed toolchain.
goroot=$(go env GOROOT)
mkdir -p "$ctx/golang"
tar -C "$(dirname "$goroot")" -cf "$ctx/golang/go.tar" "$(basename "$goroot")"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/golang/"
cat >"$ctx/golang/Dockerfile" <<EOF
FROM chirper-standin/bookworm
ADD go.tar /usr/local/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    GOPATH=/go GOPROXY=$(go env GOPROXY) GOSUMDB=$(go env GOSUMDB) GOFLAGS=$(go env GOFLAGS) GOTOOLCHAIN=local
WORKDIR /go
EOF
docker build -q -t golang:1.26-bookworm "$ctx/golang" >/dev/null

# distroless static, nonroot.
d="$ctx/distroless"
mkdir -p "$d/etc/ssl/certs" "$d/usr/share" "$d/tmp" "$d/home/nonroot"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$d/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$d/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$d/etc/ssl/certs/"
cp -r /usr/share/zoneinfo "$d/usr/share/"
cat >"$d/Dockerfile" <<'EOF'
FROM scratch
COPY etc /etc
COPY usr /usr
COPY --chown=65532:65532 home /home
COPY tmp /tmp
USER 65532:65532
WORKDIR /home/nonroot
EOF
chmod 1777 "$d/tmp"
docker build -q -t gcr.io/distroless/static-debian12:nonroot "$d" >/dev/null

# postgres: Debian's PostgreSQL 15 behind the official image's entrypoint
# contract (the part docker-compose.yml uses).
p="$ctx/postgres"
mkdir -p "$p"
cat >"$p/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
bin=/usr/lib/postgresql/15/bin
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # UTF-8, as the official image: SQL_ASCII would count a message's bytes.
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  echo "host all all all ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
  runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ -n "$POSTGRES_DB" ] && [ "$POSTGRES_DB" != "${POSTGRES_USER:-postgres}" ]; then
    runuser -u postgres -- "$bin/createdb" -U "${POSTGRES_USER:-postgres}" "$POSTGRES_DB"
  elif [ -n "$POSTGRES_USER" ] && [ "$POSTGRES_USER" != postgres ]; then
    runuser -u postgres -- "$bin/createdb" -U "$POSTGRES_USER" "$POSTGRES_USER"
  fi
  runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
EOF
cat >"$p/Dockerfile" <<'EOF'
FROM chirper-standin/bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
    && rm -rf /var/lib/apt/lists/*
COPY docker-entrypoint.sh /usr/local/bin/
RUN chmod +x /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH LANG=C.UTF-8
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
EOF
DOCKER_BUILDKIT=0 docker build -q --network host -t postgres:15 "$p" >/dev/null

echo "base-images: built local stand-ins of ${images[*]} (no registry answered)"
