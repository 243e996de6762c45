#!/usr/bin/env bash
# Runs a command with a real redis-server and PostgreSQL of its own: started on free ports in a
# temporary directory, REDIS_URL and DATABASE_URL set for the command, both stopped and the
# directory removed afterwards, even when the command fails or is interrupted. The command may
# restart either server as started here (bench.chaos does): REAL_SERVERS_DIR holds redis.conf and
# the PostgreSQL data folder pg/, whose postgresql.conf has the options, REAL_SERVERS_PG_BIN its
# binaries.
# Exit status 75 (and a line on stderr) when the servers cannot be had on this machine.
#   scripts/real-servers.sh .venv/bin/python -m pytest
set -euo pipefail
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

need_servers() {
    command -v redis-server >/dev/null && [ -x "$PG_BIN/initdb" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server postgresql) \
            >/dev/null 2>&1 || true
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    fi
    command -v redis-server >/dev/null && [ -x "$PG_BIN/initdb" ]
}
if ! need_servers; then
    echo "real-servers: redis-server or PostgreSQL is not installed and apt could not install them" >&2
    exit 75
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# PostgreSQL refuses to run as root: as root, its server runs as the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

dir=$(mktemp -d /tmp/hotline-servers.XXXXXX)
chmod 755 "$dir"
redis_pid=
cleanup() {
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    # A redis-server the command restarted is not our child: shut it down by its port.
    [ -n "$redis_pid" ] && redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    [ -f "$dir/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_port=$(free_port)
printf '%s\n' "port $redis_port" "bind 127.0.0.1" "dir $dir" 'save ""' "appendonly no" \
    "logfile $dir/redis.log" >"$dir/redis.conf"
redis-server "$dir/redis.conf" &
redis_pid=$!

pg_port=$(free_port)
mkdir "$dir/pg" && [ "$(id -u)" != 0 ] || chown postgres "$dir/pg"
as_pg "$PG_BIN/initdb" -D "$dir/pg" -U hotline --auth=trust -E UTF8 >/dev/null
# fsync off: a test database is thrown away, and fsync makes each commit wait on the disk.
# In postgresql.conf, so that a restart of pg_ctl -D "$dir/pg" start runs the same server.
printf '%s\n' "port = $pg_port" "unix_socket_directories = '$dir/pg'" "listen_addresses = '127.0.0.1'" \
    "fsync = off" "synchronous_commit = off" "max_connections = 200" | as_pg tee -a "$dir/pg/postgresql.conf" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -l "$dir/pg/log" -w -t 60 start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U hotline hotline

# redis-server answers once it is listening: wait for that, with a deadline.
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null

REAL_SERVERS_DIR="$dir" REAL_SERVERS_PG_BIN="$PG_BIN" \
REDIS_URL="redis://127.0.0.1:$redis_port/0" \
DATABASE_URL="postgresql+psycopg://hotline@127.0.0.1:$pg_port/hotline" "$@"
