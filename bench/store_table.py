#!/usr/bin/env python3
"""store_table.py BASE CLK_TCK STORE WRITE_LOCK: bench/store.sh's table, from BASE.json
(chatchat-bench's result), BASE.log (its output, each line prefixed by the wall time) and
BASE.cpu.txt (wall time, store CPU ticks, chatchat CPU ticks, once a second)."""
import json, re, sys, bisect
base, tck, store, lock = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
r = json.load(open(base + ".json"))
cpu = [tuple(float(x) for x in l.split()) for l in open(base + ".cpu.txt") if len(l.split()) == 3]
ts = [c[0] for c in cpu]
def at(t):  # CPU ticks (store, chat) interpolated at wall time t
    i = bisect.bisect_left(ts, t)
    if i <= 0: return cpu[0][1:]
    if i >= len(cpu): return cpu[-1][1:]
    (t0, s0, c0), (t1, s1, c1) = cpu[i-1], cpu[i]
    f = (t - t0) / (t1 - t0) if t1 > t0 else 0
    return s0 + f*(s1-s0), c0 + f*(c1-c0)
# Progress lines per rate: (wall time, sent so far).
prog = {}
pat = re.compile(r"^(\S+)\s+\S+s rate=(\d+)/s sent=(\d+)")
for l in open(base + ".log"):
    m = pat.match(l)
    if m:
        prog.setdefault(float(m.group(2)), []).append((float(m.group(1)), int(m.group(3))))
name = store + ("" if store in ("sqlite", "mongo") else f", write lock {lock}")
print(f"store {name}: {r['config']['clients']:,} clients in rooms of {r['config']['roomSize']}, {len(r['config']['serverPids'])} chatchat processes")
print()
dur = r["config"]["duration"] / 1e9
# sent/s: sends answered per second between the step's first and last progress lines (when
# the store falls behind, a step's sends take longer than its schedule).
print("| offered msg/s | sent/s | failed | p50 ms | p99 ms | lost | dup | store CPU s | chatchat CPU s | store ms CPU/send | chatchat ms CPU/send | store share |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for s in r["steps"]:
    l = s["latencyMs"]
    p = prog.get(float(s["rate"]), [])
    if len(p) >= 2:
        (t0, n0), (t1, n1) = p[0], p[-1]
        a, b = at(t0), at(t1)
        st, ch = (b[0]-a[0])/tck, (b[1]-a[1])/tck
        n = max(n1 - n0, 1)
        share = st / (st + ch) if st + ch > 0 else 0
        if store in ("sqlite", "mongo"):  # no store processes of its own here
            where = "in chatchat" if store == "sqlite" else "elsewhere"
            sc = f"{where} | {ch:.1f} | {where} | {1000*ch/n:.2f} | {where}"
        else:
            sc = f"{st:.1f} | {ch:.1f} | {1000*st/n:.2f} | {1000*ch/n:.2f} | {100*share:.0f}%"
    else:
        sc = "| | | | "
    rate = (n1 - n0) / (t1 - t0) if len(p) >= 2 and t1 > t0 else s["sent"] / dur
    print(f"| {s['rate']:g} | {rate:.1f} | {s['failed']} | {l['p50']:.1f} | {l['p99']:.1f} | {s['lost']} | {s['duplicated']} | {sc} |")
