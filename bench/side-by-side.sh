#!/usr/bin/env bash
# side-by-side.sh: the idle and broadcast scenarios against ChatChat and Centrifugo v6.9.1,
# on this machine in one run, each server pinned to core 0 and the generator to core 1.
# Prints the ratios and one verdict line per target (docs/benchmarks.md), and leaves the
# JSON results, the Markdown table and the latency chart in $OUT (default bench/results).
#
# Tunables (environment): IDLE_CLIENTS (18000), MEMBERS (1000), RATES (the broadcast ramp,
# messages/s), DURATION (per step), CPU_RATE and P99_RATE (where the two are compared),
# CC_FLAGS (extra flags for chatchat serve, e.g. --send-queue 4096).
#
# ChatChat runs with load-test settings: rate limits off and cheap password hashing
# (argon2id 1 MiB, 1 iteration) so that bulk sign-up does not dominate. Never use those
# settings in production.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$repo/bench/results}
IDLE_CLIENTS=${IDLE_CLIENTS:-18000}
MEMBERS=${MEMBERS:-1000}
RATES=${RATES:-50,100,200,300,500,700,1000}
DURATION=${DURATION:-10s}
CPU_RATE=${CPU_RATE:-500}
P99_RATE=${P99_RATE:-100}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
CC_ADDR=127.0.0.1:18080
CF_PORT=18000

tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true

echo "# building chatchat and chatchat-bench; installing Centrifugo v6.9.1 into $tmp"
(cd "$repo" && go build -o "$tmp/chatchat" ./cmd/chatchat && go build -o "$tmp/chatchat-bench" ./cmd/chatchat-bench)
(cd "$tmp" && GOFLAGS=-mod=mod GOBIN="$tmp" go install github.com/centrifugal/centrifugo/v6@v6.9.1)
bench=("taskset" "-c" "$GEN_CPU" "$tmp/chatchat-bench")

wait_port() { # host:port
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "server on $1 did not start" >&2
	return 1
}

start_chatchat() {
	rm -rf "$tmp/data"
	taskset -c "$SERVER_CPU" "$tmp/chatchat" serve --addr "$CC_ADDR" --data-dir "$tmp/data" \
		--rate-send 0 --rate-signup 0 --rate-login 0 --rate-frames 0 \
		--argon2-memory 1024 --argon2-iterations 1 --log-level warn ${CC_FLAGS:-} >"$tmp/chatchat.log" 2>&1 &
	server_pid=$!
	wait_port "$CC_ADDR"
}

start_centrifugo() {
	sed "s/\"port\": 18000/\"port\": $CF_PORT/" "$repo/bench/centrifugo.json" >"$tmp/centrifugo.json"
	taskset -c "$SERVER_CPU" "$tmp/centrifugo" -c "$tmp/centrifugo.json" >"$tmp/centrifugo.log" 2>&1 &
	server_pid=$!
	wait_port "127.0.0.1:$CF_PORT"
}

stop_server() {
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}

echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for target in chatchat centrifugo; do
	for preset in idle broadcast; do
		if [[ $target == chatchat ]]; then start_chatchat; url=http://$CC_ADDR; else start_centrifugo; url=http://127.0.0.1:$CF_PORT; fi
		args=(-target "$target" -url "$url" -server-pid "$server_pid" -out "$OUT/$target-$preset.json")
		if [[ $preset == idle ]]; then
			args+=(-clients "$IDLE_CLIENTS" -hold 15s)
		else
			args+=(-clients "$MEMBERS" -rate "$RATES" -duration "$DURATION")
		fi
		echo "# $target $preset"
		"${bench[@]}" "$preset" "${args[@]}"
		stop_server
	done
done

"${bench[@]}" chart -o "$OUT/broadcast-latency.svg" -rate "$P99_RATE" \
	-title "broadcast to $MEMBERS members at $P99_RATE msg/s: end-to-end latency" \
	"$OUT/chatchat-broadcast.json" "$OUT/centrifugo-broadcast.json" || echo "# no chart at $P99_RATE msg/s"
"${bench[@]}" chart -o "$OUT/broadcast-latency-$CPU_RATE.svg" -rate "$CPU_RATE" \
	-title "broadcast to $MEMBERS members at $CPU_RATE msg/s: end-to-end latency" \
	"$OUT/chatchat-broadcast.json" "$OUT/centrifugo-broadcast.json" || echo "# no chart at $CPU_RATE msg/s: a server did not reach that step"
echo
"${bench[@]}" compare -cpu-rate "$CPU_RATE" -p99-rate "$P99_RATE" \
	-idle "$OUT/chatchat-idle.json" -peer-idle "$OUT/centrifugo-idle.json" \
	-broadcast "$OUT/chatchat-broadcast.json" -peer-broadcast "$OUT/centrifugo-broadcast.json" | tee "$OUT/side-by-side.md"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
