#!/usr/bin/env bash
# cluster.sh: the cluster scenario at full size on this machine. One Redis, one API process,
# NODES chat processes (--roles ws, each under the 20,000-open-files limit) sharing the
# embedded SQLite data dir, and GENS load-generator processes, each with its own source
# address 127.0.0.(1+g) and its own share of the users. Rooms have one member on every chat
# node (clients are spread round-robin over the nodes and rooms are ROOM_SIZE consecutive
# clients), so every message crosses Redis to reach members on every node.
#
# Prints memory per connection of the chat processes (RSS after all are connected minus
# before, over the connections they hold), and per generator the deliveries, lost,
# duplicated and end-to-end p50/p99; leaves the JSON results and cluster.md in $OUT.
# Starts and stops everything itself; every run is bounded by -max-time.
#
# The generators' log lines are stamped with the time (HH:MM:SS), and the end of the log says
# when each finished connecting and started sending. A generator waits HOLD after its own
# last connect and then for the script's start file, which the script creates once every
# connection is held and the memory is read: all generators send together, after every
# connect storm.
#
# Tunables (environment): CONNS (100000), NODES (6), GENS (6), ROOM_SIZE (NODES), RATE
# (messages/s over all generators, 300), DURATION (15s), HOLD (40s, in seconds), OUT,
# BUS_MODE (global: every chat node hears every event; room: per-room sharded Pub/Sub),
# PLACEMENT (spread: each room's members over every node; room: each room on one node).
# At the end it prints, per chat node, the bus events it received and its CPU.
# PPROF=1 gives every chat process and the API process a pprof port (--pprof-addr,
# 127.0.0.1:PPROF_PORT+i, the API at +0), saves into $OUT a heap profile of each chat node
# when the memory is read (heap-wsN.pb.gz) and a CPU profile of chat node 1 and of the API
# over the sending step (cpu-ws1.pb.gz, cpu-api.pb.gz) and of chat node 1 for 20 s of the
# connect storm (cpu-ws1-connect.pb.gz, from the first "5000 connections open"), and prints
# their top entries.
# PRESENCE_TTL (30m) is the servers' --presence-ttl: the generator sends its first HEART_BEAT
# only when its step starts (after connecting and HOLD), so with the default 60 s every user
# has gone offline by then and the step would start with every user coming back online at
# once (a presence event per heartbeat, 4,000 a second) — a storm real clients, which beat
# every 25 s from the start, do not make. PRESENCE_TTL=60s gives the old behaviour.
# Load-test settings (rate limits off, cheap password hashing): never for production.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$repo/bench/results}
CONNS=${CONNS:-100000}
NODES=${NODES:-6}
GENS=${GENS:-6}
ROOM_SIZE=${ROOM_SIZE:-$NODES}
RATE=${RATE:-300}
BUS_MODE=${BUS_MODE:-global}
PLACEMENT=${PLACEMENT:-spread}
DURATION=${DURATION:-15s}
HOLD=${HOLD:-40s}
PRESENCE_TTL=${PRESENCE_TTL:-30m}
PPROF=${PPROF:-0}
PPROF_PORT=${PPROF_PORT:-19100}
REDIS_PORT=16379
API_PORT=19000

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	# The servers' and Redis's logs go with the results (warnings: subscriptions lost, re-syncs).
	cp "$tmp"/*.log "$OUT/" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$OUT"
# The hard limit is 20,000: one chat process holds at most ~18,000 connections.
ulimit -n 20000
per_node=$(((CONNS + NODES - 1) / NODES))
per_gen=$(((CONNS + GENS - 1) / GENS))
if ((per_node > 18000 || per_gen > 18000)); then
	echo "CONNS=$CONNS over $NODES nodes and $GENS generators is more than 18,000 sockets a process" >&2
	exit 2
fi

stamp() { # prefixes each line with the time
	local l
	while IFS= read -r l; do printf '%(%T)T %s\n' -1 "$l"; done
}
# shellcheck source=lib.sh
source "$repo/bench/lib.sh"
rss_kib() { # pids... -> summed VmRSS in KiB
	local sum=0 p
	for p in "$@"; do sum=$((sum + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status"))); done
	echo "$sum"
}
held_conns() { # -> established TCP connections to the chat processes' ports
	local filter="" i
	for i in $(seq 1 "$NODES"); do filter+="${filter:+ or }sport = :$((API_PORT + i))"; done
	ss -Htn state established "( $filter )" | wc -l
}

echo "# building chatchat and chatchat-bench into $tmp"
(cd "$repo" && go build -o "$tmp/chatchat" ./cmd/chatchat && go build -o "$tmp/chatchat-bench" ./cmd/chatchat-bench)
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); presence TTL $PRESENCE_TTL, hold $HOLD"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --maxclients 10000 >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$REDIS_PORT"

common=(--data-dir "$tmp/data" --redis-url "redis://127.0.0.1:$REDIS_PORT/0" --jwt-secret cluster-bench-secret-0123456789abcdef
	--rate-send 0 --rate-signup 0 --rate-login 0 --rate-frames 0 --argon2-memory 1024 --argon2-iterations 1 --log-level warn
	--bus-mode "$BUS_MODE" --presence-ttl "$PRESENCE_TTL")
pprof_args() { # i (0 = the API) -> the process's --pprof-addr, when PPROF=1
	if [ "$PPROF" = 1 ]; then echo "--pprof-addr 127.0.0.1:$((PPROF_PORT + $1))"; fi
}
pprof_top() { # file [pprof options...] -> the top entries, indented, into the log
	go tool pprof -top -nodecount 25 "${@:2}" "$1" 2>/dev/null | sed 's/^/#   /'
}
by_room=()
[ "$PLACEMENT" = room ] && by_room=(-ws-by-room)
"$tmp/chatchat" serve --roles api --addr "127.0.0.1:$API_PORT" "${common[@]}" $(pprof_args 0) >"$tmp/api.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
wait_port "$API_PORT"
ws_pids=()
ws_urls=()
for i in $(seq 1 "$NODES"); do
	port=$((API_PORT + i))
	"$tmp/chatchat" serve --roles ws --addr "127.0.0.1:$port" "${common[@]}" $(pprof_args "$i") >"$tmp/ws$i.log" 2>&1 &
	ws_pids+=($!)
	pids+=($!)
	ws_urls+=("http://127.0.0.1:$port")
done
for i in $(seq 1 "$NODES"); do wait_port $((API_PORT + i)); done
sleep 1
server_pids=$(
	IFS=,
	echo "$api_pid,${ws_pids[*]}"
)
urls=$(
	IFS=,
	echo "${ws_urls[*]}"
)
rss_before=$(rss_kib "${ws_pids[@]}")
echo "# $NODES chat processes up, RSS $((rss_before / 1024)) MiB; $GENS generators of $per_gen clients, rooms of $ROOM_SIZE, $RATE msg/s in all"

gen_pids=()
rate_each=$(awk -v r="$RATE" -v g="$GENS" 'BEGIN{printf "%g", r/g}')
for g in $(seq 1 "$GENS"); do
	"$tmp/chatchat-bench" cluster -url "http://127.0.0.1:$API_PORT" -ws-url "$urls" -server-pid "$server_pids" \
		-clients "$per_gen" -room-size "$ROOM_SIZE" -rate "$rate_each" -duration "$DURATION" -hold "$HOLD" \
		-source-ip "127.0.0.$((g + 1))" -setup-workers 8 -connect-workers 16 -progress 10s -max-time 15m \
		-label "gen$g" -out "$OUT/cluster-gen$g.json" -start-file "$tmp/start" "${by_room[@]}" > >(stamp >"$OUT/cluster-gen$g.log") 2>&1 &
	gen_pids+=($!)
	pids+=($!)
done
if [ "$PPROF" = 1 ]; then
	(
		for _ in $(seq 1 6000); do
			if grep -qs '5000 connections open' "$OUT"/cluster-gen*.log; then break; fi
			sleep 0.2
		done
		curl -s -o "$OUT/cpu-ws1-connect.pb.gz" "http://127.0.0.1:$((PPROF_PORT + 1))/debug/pprof/profile?seconds=20"
	) &
	pids+=($!)
fi

# Memory per connection: wait until the chat processes hold every connection (or the
# generators are done), then read their RSS once.
want=$((per_gen * GENS))
held=0
for _ in $(seq 1 900); do
	held=$(held_conns)
	if ((held >= want)); then break; fi
	alive=0
	for p in "${gen_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	((alive)) || break
	sleep 1
done
# Read the memory a little after the last connect (MEM_SETTLE s, at most half the hold):
# the first generators to finish connecting start sending HOLD after their own last
# connect, so a later read would see their step's garbage, or their connections gone. The
# connections are counted again at the read; that count divides the memory.
hold_s=${HOLD%s}
sleep $((hold_s / 2 < ${MEM_SETTLE:-5} ? hold_s / 2 : ${MEM_SETTLE:-5}))
rss_after=$(rss_kib "${ws_pids[@]}")
held_first=$held
held=$(held_conns)
echo "# $held_first connections held at the last connect, $held at the memory read ($(date +%T))"
echo "# chat processes hold $held connections; RSS $((rss_before / 1024)) -> $((rss_after / 1024)) MiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
ps -o pid,pcpu,rss,args -p "$(
	IFS=,
	echo "${pids[*]}"
)" | cut -c1-100 | sed 's/^/#   /'
# top's second frame: CPU over the last 3 s, busiest first.
top -bn2 -d3 -o %CPU | awk '/^top -/{n++} n==2' | sed -n '7,22p' | sed 's/^/# top: /'

if [ "$PPROF" = 1 ]; then
	# The heap after the connect storm (gc=1: as of a collection now), and where the rest of
	# the RSS is: the runtime's own figures per node.
	echo "# heap and stacks per chat node (runtime figures from /metrics, MiB)"
	echo "# | node | heap in use | stacks in use | goroutines | from the OS |"
	for i in $(seq 1 "$NODES"); do
		curl -s -o "$OUT/heap-ws$i.pb.gz" "http://127.0.0.1:$((PPROF_PORT + i))/debug/pprof/heap?gc=1"
		curl -s "http://127.0.0.1:$((API_PORT + i))/metrics" | awk -v n="ws$i" '
			/^go_memstats_heap_inuse_bytes /{h=$2} /^go_memstats_stack_inuse_bytes /{s=$2}
			/^go_goroutines /{g=$2} /^go_memstats_sys_bytes /{o=$2}
			END {printf "# | %s | %.0f | %.0f | %d | %.0f |\n", n, h/1048576, s/1048576, g, o/1048576}'
	done
	echo "# heap profile of ws1 (in use, after a collection):"
	pprof_top "$OUT/heap-ws1.pb.gz" -sample_index=inuse_space
	for i in $(seq 2 "$NODES"); do
		echo "# heap profile of ws$i, first entries:"
		pprof_top "$OUT/heap-ws$i.pb.gz" -sample_index=inuse_space | sed -n '1,12p'
	done
	# CPU profiles of ws1 and the API over the sending step: from the first generator's
	# "step 1" line, for the step's duration.
	step_s=$(awk -v d="$DURATION" 'BEGIN{sub(/s$/, "", d); printf "%d", d}')
	(
		for _ in $(seq 1 3000); do
			if grep -qs 'step 1:' "$OUT"/cluster-gen*.log; then break; fi
			alive=0
			for p in "${gen_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
			((alive)) || exit 0 # no generator left to send
			sleep 0.2
		done
		curl -s -o "$OUT/cpu-ws1.pb.gz" "http://127.0.0.1:$((PPROF_PORT + 1))/debug/pprof/profile?seconds=$step_s" &
		curl -s -o "$OUT/cpu-api.pb.gz" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$step_s" &
		wait
	) &
	cpuprof_pid=$!
	pids+=("$cpuprof_pid")
fi

cpu_s() { # pid -> utime+stime in seconds
	awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) / t}' "/proc/$1/stat"
}
cpu_before=()
for p in "${ws_pids[@]}"; do cpu_before+=("$(cpu_s "$p")"); done
# Every generator holds its sending step until this file exists (after its own HOLD), so that
# all six send together, once every connection is held and the memory has been read.
touch "$tmp/start"
echo "# sending starts $(date +%T)"
status=0
for p in "${gen_pids[@]}"; do wait "$p" || status=1; done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$PPROF" = 1 ]; then
	wait "$cpuprof_pid" || true
	echo "# CPU profile of ws1 over 20 s of the connect storm:"
	pprof_top "$OUT/cpu-ws1-connect.pb.gz"
	echo "# CPU profile of ws1 over the sending step ($step_s s):"
	pprof_top "$OUT/cpu-ws1.pb.gz"
	echo "# CPU profile of the API over the sending step ($step_s s):"
	pprof_top "$OUT/cpu-api.pb.gz"
fi
# Per chat node: the bus events it received (all types, and MESSAGE_CREATED) and its CPU
# from the hold's middle to the end (the sending step and the drain).
echo "# bus mode $BUS_MODE, rooms placed by $PLACEMENT" | tee "$OUT/cluster-nodes.md"
echo "| node | bus events received | MESSAGE_CREATED received | CPU s |" | tee -a "$OUT/cluster-nodes.md"
echo "|---|---|---|---|" | tee -a "$OUT/cluster-nodes.md"
for i in $(seq 1 "$NODES"); do
	m=$(curl -s "http://127.0.0.1:$((API_PORT + i))/metrics" | grep '^chatchat_bus_events_received_total' || true)
	all=$(echo "$m" | awk '{s += $2} END {printf "%d", s}')
	created=$(echo "$m" | awk '/type="MESSAGE_CREATED"/{s += $2} END {printf "%d", s}')
	cpu=$(awk -v a="$(cpu_s "${ws_pids[$((i - 1))]}")" -v b="${cpu_before[$((i - 1))]}" 'BEGIN{printf "%.1f", a - b}')
	echo "| ws$i | $all | $created | $cpu |" | tee -a "$OUT/cluster-nodes.md"
done
((status == 0)) || echo "# a generator failed: see $OUT/cluster-gen*.log" >&2
sleep 0.5 # the stamping readers finish their logs
for g in $(seq 1 "$GENS"); do
	echo "# gen$g: connected $(awk '/ opened /{print $1}' "$OUT/cluster-gen$g.log"), step from $(awk '/ step 1:/{print $1}' "$OUT/cluster-gen$g.log")"
done

python3 - "$OUT" "$GENS" "$held" "$rss_before" "$rss_after" "$NODES" "$RATE" <<'EOF' | tee "$OUT/cluster.md"
import json, sys
out, gens, held, before, after, nodes, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
print(f"cluster: {held:,} connections held by {nodes} chat processes (+1 API, 1 Redis), {rate} msg/s in all")
print(f"chat processes' RSS {before/1024:.1f} -> {after/1024:.1f} MiB: {(after-before)/max(held,1):.2f} KiB per connection")
print()
print("| generator | clients | sent | delivered | lost | dup | p50 ms | p99 ms | max ms | lost conns |")
print("|---|---|---|---|---|---|---|---|---|---|")
tot = dict(sent=0, delivered=0, lost=0, dup=0, conns=0)
worst = 0.0
for g in range(1, gens + 1):
    try:
        r = json.load(open(f"{out}/cluster-gen{g}.json"))
    except OSError:
        print(f"| gen{g} | no result | | | | | | | | |")
        continue
    for s in r.get("steps", []):
        l = s["latencyMs"]
        worst = max(worst, l["p99"])
        for k, v in (("sent", s["sent"]), ("delivered", s["delivered"]), ("lost", s["lost"]), ("dup", s["duplicated"])):
            tot[k] += v
        print(f"| gen{g} | {r['config']['clients']:,} | {s['sent']:,} | {s['delivered']:,} | {s['lost']:,} | {s['duplicated']:,} | {l['p50']:.1f} | {l['p99']:.1f} | {l['max']:.1f} | {r['lostConnections']} |")
print(f"| all | | {tot['sent']:,} | {tot['delivered']:,} | {tot['lost']:,} | {tot['dup']:,} | | worst {worst:.1f} | | |")
EOF
