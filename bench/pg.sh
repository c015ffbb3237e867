#!/usr/bin/env bash
# pg.sh: a private PostgreSQL 15 and FerretDB's PostgreSQL backend on it (tools/ferret with
# --postgresql-url), for benchmarks only; the test suite does not use it.
#
#   bench/pg.sh            start both, print the mongodb:// URI, serve until Ctrl-C
#   . bench/pg.sh          (from another script) defines pg_start, ferret_start, pg_stop
#
# PostgreSQL refuses to run as root, so initdb and postgres run as the postgres system user
# (runuser), with the data directory in a temporary directory that user owns, on a free
# loopback port, trust authentication on loopback only. Durability as shipped: fsync=on,
# synchronous_commit=on (each write's commit waits for its WAL flush), full_page_writes=on.
# Debian's package: apt-get install -y postgresql (not in scripts/deps.sh: nothing in
# `make test` needs it).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-postgres}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pg_start DIR: initdb in DIR/pg and start postgres; sets PG_PID (the postmaster),
# PG_PORT, PG_URL.
pg_start() {
	local dir=$1
	[ -x "$PG_BIN/postgres" ] || {
		echo "no PostgreSQL in $PG_BIN (apt-get install -y postgresql)" >&2
		return 1
	}
	mkdir -p "$dir/pg"
	chmod o+x "$(dirname "$dir")" # mktemp -d makes 0700 directories: let postgres through
	chown "$PG_USER:" "$dir" "$dir/pg"
	chmod 700 "$dir/pg"
	runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 || {
		cat "$dir/pg/initdb.log" >&2
		return 1
	}
	PG_PORT=$(free_port)
	# runuser stays as postgres's parent: the postmaster's pid is in postmaster.pid.
	runuser -u "$PG_USER" -- "$PG_BIN/postgres" -D "$dir/pg/data" -p "$PG_PORT" -k "$dir/pg" \
		-c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200 \
		-c shared_buffers=256MB -c logging_collector=off >"$dir/pg/postgres.log" 2>&1 &
	PG_RUNUSER_PID=$!
	local i
	PG_PID=
	for i in $(seq 1 200); do
		if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then break; fi
		kill -0 "$PG_RUNUSER_PID" 2>/dev/null || {
			cat "$dir/pg/postgres.log" >&2
			return 1
		}
		sleep 0.1
	done
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || {
		echo "postgres did not start" >&2
		return 1
	}
	PG_PID=$(head -1 "$dir/pg/data/postmaster.pid")
	runuser -u "$PG_USER" -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres ferretdb
	PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/ferretdb"
}

# pg_pids: the postmaster and its children (backends, WAL writer, checkpointer...).
pg_pids() {
	echo "$PG_PID"
	pgrep -P "$PG_PID" || true
}

# ferret_start BIN DIR [args...]: start ferret-server with DIR for its socket (and SQLite
# files) and wait for its address; sets FERRET_PID, MONGO_URI.
ferret_start() {
	local bin=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	"$bin" --listen 127.0.0.1:0 --dir "$dir" "$@" >"$dir/addr" 2>"$dir/ferret.log" &
	FERRET_PID=$!
	local i
	for i in $(seq 1 300); do
		[ -s "$dir/addr" ] && break
		kill -0 "$FERRET_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$dir/addr" ] || {
		echo "ferret-server did not start:" >&2
		cat "$dir/ferret.log" >&2
		return 1
	}
	MONGO_URI="mongodb://$(head -1 "$dir/addr")/?retryWrites=false&directConnection=true"
}

pg_stop() {
	if [ -n "${PG_PID:-}" ]; then
		kill -INT "$PG_PID" 2>/dev/null || true # fast shutdown
		local i
		for i in $(seq 1 100); do
			kill -0 "$PG_PID" 2>/dev/null || break
			sleep 0.1
		done
		wait "$PG_RUNUSER_PID" 2>/dev/null || true
		PG_PID=
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	repo=$(cd "$(dirname "$0")/.." && pwd)
	tmp=$(mktemp -d)
	FERRET_PID=
	trap '[ -n "$FERRET_PID" ] && kill "$FERRET_PID" 2>/dev/null; wait "$FERRET_PID" 2>/dev/null; pg_stop; rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
	(cd "$repo/tools/ferret" && GOWORK=off go build -o "$tmp/ferret-server" .)
	pg_start "$tmp"
	ferret_start "$tmp/ferret-server" "$tmp/ferret" --postgresql-url "$PG_URL" "$@"
	echo "PostgreSQL $PG_URL (pid $PG_PID), ferret-server pid $FERRET_PID"
	echo "$MONGO_URI"
	wait "$FERRET_PID"
fi
