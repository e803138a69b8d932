#!/usr/bin/env bash
# Install (Debian packages) and start PostgreSQL and Redis on loopback for the tests.
# Idempotent: reuses running servers. Prints the environment the tests need.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pg_port=${CODEQUEST_TEST_PGPORT:-55432}
redis_port=${CODEQUEST_TEST_REDISPORT:-56379}

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)  # the browser tests
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-services: need ${missing[*]}; install them or run as root" >&2
    exit 1
  fi
  echo "test-services: installing ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# Under /tmp, not the checkout: the postgres user must reach it even when the
# checkout lives in a directory only root can enter.
pg_data="${TMPDIR:-/tmp}/codequest-test-postgres-$(printf %s "$root" | md5sum | cut -c1-8)"
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ ! -f "$pg_data/PG_VERSION" ]; then
  mkdir -p "$pg_data"
  [ "$(id -u)" = 0 ] && chown postgres: "$pg_data"
  as_postgres "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
# A PostgreSQL already answering on the port (ours from an earlier run, or one
# the developer started) is used as it is.
if ! "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1" >/dev/null 2>&1 \
   && ! as_postgres "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
  # Durability is off: this cluster holds only throw-away test data.
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w \
    -o "-p $pg_port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2
fi

if ! "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'codequest'" | grep -q 1; then
  "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres codequest
fi

mkdir -p "$root/var"  # the Redis log; a fresh clone has no var/ yet
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes \
    --save "" --appendonly no --logfile "$root/var/test-redis.log" >&2
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/codequest"
echo "CELERY_BROKER_URL=redis://127.0.0.1:$redis_port/0"
echo "CODEQUEST_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/1"
