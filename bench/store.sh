#!/usr/bin/env bash
# store.sh: the cluster's store under load (issue 15). One Redis, one API process (--roles
# api: it takes the sends and writes them to the store), NODES chat processes (--roles ws),
# all on the store chosen by STORE:
#
#   sqlite          the shared embedded SQLite data dir, as bench/cluster.sh runs
#   ferret-sqlite   the MongoDB-wire test server (tools/ferret) on its SQLite backend
#   ferret-pg       the same server on FerretDB's PostgreSQL backend, on a private
#                   PostgreSQL 15 (bench/pg.sh; fsync=on, synchronous_commit=on)
#   mongo           the server in MONGO_URI (e.g. a DocumentDB cluster), a fresh database
#
# then chatchat-bench rooms (CLIENTS clients in rooms of ROOM_SIZE, members spread over the
# chat nodes) through the rate steps RATES. Per step it prints the sends sustained, p50/p99
# end-to-end latency, lost and duplicated deliveries, and the CPU seconds of the store's
# processes (postgres and ferret-server) and of the chatchat processes over the same
# window, per send: the store's share of the cost. With STORE=sqlite the store runs inside
# the chatchat processes and has no share of its own.
#
# Tunables (environment): STORE (ferret-pg), NODES (2), CLIENTS (1000), ROOM_SIZE (5),
# RATES (25,50,100,200), DURATION (15s), WRITE_LOCK (the relay's lock: global, or
# collection to let writes to different collections run together; ferret-* only),
# CONNECT_WORKERS (32; fewer when the store is too slow to answer a connect's reads within
# the dial timeout, as FerretDB on SQLite is), OUT.
# Load-test settings (rate limits off, cheap password hashing): never for production.
# Must run as root for ferret-pg (PostgreSQL runs as the postgres user through runuser).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
STORE=${STORE:-ferret-pg}
NODES=${NODES:-2}
CLIENTS=${CLIENTS:-1000}
ROOM_SIZE=${ROOM_SIZE:-5}
RATES=${RATES:-25,50,100,200}
DURATION=${DURATION:-15s}
CONNECT_WORKERS=${CONNECT_WORKERS:-32}
WRITE_LOCK=${WRITE_LOCK:-global}
OUT=${OUT:-$repo/bench/results}
label=store-$STORE${WRITE_LOCK:+-$WRITE_LOCK}
case $STORE in sqlite | mongo) label=store-$STORE ;; esac

# shellcheck source=bench/pg.sh
. "$repo/bench/pg.sh"

tmp=$(mktemp -d)
pids=()
FERRET_PID=
PG_PID=
cleanup() {
	[ -n "${sampler_pid:-}" ] && kill "$sampler_pid" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "$FERRET_PID" ]; then
		kill "$FERRET_PID" 2>/dev/null || true
		wait "$FERRET_PID" 2>/dev/null || true
	fi
	pg_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT"

# shellcheck source=lib.sh
source "$repo/bench/lib.sh"
tck=$(getconf CLK_TCK)
# cpu_ticks PIDS...: utime+stime (+cutime+cstime: reaped children, e.g. PostgreSQL
# backends that ended) summed over the live ones.
cpu_ticks() {
	local p sum=0 f a
	for p in "$@"; do
		f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		read -ra a <<<"${f##*) }"
		sum=$((sum + a[11] + a[12] + a[13] + a[14]))
	done
	echo "$sum"
}

echo "# building chatchat, chatchat-bench and ferret-server into $tmp"
(cd "$repo" && go build -o "$tmp/chatchat" ./cmd/chatchat && go build -o "$tmp/chatchat-bench" ./cmd/chatchat-bench)
(cd "$repo/tools/ferret" && GOWORK=off go build -o "$tmp/ferret-server" .)
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --maxclients 10000 >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"

store_args=()
case $STORE in
sqlite) ;;
ferret-sqlite)
	ferret_start "$tmp/ferret-server" "$tmp/ferret" --write-lock "$WRITE_LOCK"
	store_args=(--mongo-uri "$MONGO_URI" --mongo-database chatchat)
	;;
ferret-pg)
	mkdir -p "$tmp/pgroot"
	pg_start "$tmp/pgroot"
	ferret_start "$tmp/ferret-server" "$tmp/ferret" --write-lock "$WRITE_LOCK" --postgresql-url "$PG_URL"
	store_args=(--mongo-uri "$MONGO_URI" --mongo-database chatchat)
	;;
mongo)
	# Any MongoDB-wire server, e.g. a DocumentDB cluster reached from here: MONGO_URI.
	# Its CPU is not on this machine, so the table has no store share.
	[ -n "${MONGO_URI:-}" ] || {
		echo "STORE=mongo needs MONGO_URI" >&2
		exit 2
	}
	store_args=(--mongo-uri "$MONGO_URI" --mongo-database "chatchat_store_bench_$$")
	;;
*)
	echo "STORE=$STORE: want sqlite, ferret-sqlite, ferret-pg or mongo" >&2
	exit 2
	;;
esac

api_port=$(free_port)
common=(--data-dir "$tmp/data" --redis-url "redis://127.0.0.1:$redis_port/0" --jwt-secret store-bench-secret-0123456789abcdef
	--rate-send 0 --rate-signup 0 --rate-login 0 --rate-frames 0 --argon2-memory 1024 --argon2-iterations 1 --log-level warn
	"${store_args[@]}")
"$tmp/chatchat" serve --roles api --addr "127.0.0.1:$api_port" "${common[@]}" >"$tmp/api.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
wait_port "$api_port"
chat_pids=("$api_pid")
ws_urls=()
for i in $(seq 1 "$NODES"); do
	port=$(free_port)
	"$tmp/chatchat" serve --roles ws --addr "127.0.0.1:$port" "${common[@]}" >"$tmp/ws$i.log" 2>&1 &
	chat_pids+=($!)
	pids+=($!)
	wait_port "$port"
	ws_urls+=("http://127.0.0.1:$port")
done
server_pids=$(
	IFS=,
	echo "${chat_pids[*]}"
)
urls=$(
	IFS=,
	echo "${ws_urls[*]}"
)
store_pids() {
	[ -n "$FERRET_PID" ] && echo "$FERRET_PID"
	[ -n "$PG_PID" ] && pg_pids
	return 0
}
echo "# store $STORE (write lock $WRITE_LOCK), chatchat pids $server_pids, store pids $(store_pids | tr '\n' ' ')"

# The sampler: every second, the wall time and the CPU ticks of the store and of chatchat.
(
	while :; do
		# shellcheck disable=SC2046
		printf '%s %s %s\n' "$EPOCHREALTIME" "$(cpu_ticks $(store_pids))" "$(cpu_ticks "${chat_pids[@]}")"
		sleep 1
	done
) >"$tmp/cpu.txt" &
sampler_pid=$!

status=0
"$tmp/chatchat-bench" rooms -url "http://127.0.0.1:$api_port" -ws-url "$urls" -server-pid "$server_pids" \
	-clients "$CLIENTS" -room-size "$ROOM_SIZE" -rate "$RATES" -duration "$DURATION" -progress 1s \
	-setup-workers 8 -connect-workers "$CONNECT_WORKERS" -max-time 30m -label "$label" -out "$OUT/$label.json" 2>&1 |
	while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done | tee "$OUT/$label.log" | cut -d' ' -f2- || status=1
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$tmp/cpu.txt" "$OUT/$label.cpu.txt"
grep -ih 'error\|panic' "$tmp"/api.log "$tmp"/ws*.log 2>/dev/null | sort | uniq -c | sort -rn | head -5 | sed 's/^/# chatchat log: /' || true

python3 "$repo/bench/store_table.py" "$OUT/$label" "$tck" "$STORE" "$WRITE_LOCK" | tee "$OUT/$label.md"
exit $status
