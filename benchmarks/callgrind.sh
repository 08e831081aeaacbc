#!/usr/bin/env bash
# Instructions and simulated cache misses per request of one app on its own server, counted by
# callgrind (valgrind): repeatable where wall-clock timing is not, for small changes.
#   benchmarks/callgrind.sh sanic|tornado|uvicorn benchmarks.apps.utilmeta_sanic:app hello|items|users|/a/path [connections]
# (hello, items and users are the benchmark's three requests, as scripts/bench sends them)
# Needs valgrind (Debian: apt-get install valgrind) and wrk. The server runs under callgrind; after
# a warm-up the counters are zeroed, wrk loads it for 6 s, the counters are dumped and divided by
# the requests wrk completed.
set -euo pipefail
cd "$(dirname "$0")/.."
server=$1 target=$2 path=$3 conns=${4:-32}
for tool in valgrind callgrind_control wrk; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install valgrind wrk)" >&2; exit 2; }
done
out=$(mktemp -d)
# the request wrk sends: one of the benchmark's endpoints, or a GET of a path
.venv/bin/python - "$path" "$out/request.lua" <<'PY'
import sys
from benchmarks.checks import ENDPOINTS, Probe
from benchmarks.load import _script
probe = next((p for p in ENDPOINTS if p.key == sys.argv[1]), None) or Probe(sys.argv[1], "GET", sys.argv[1])
open(sys.argv[2], "w").write(_script((probe,)))
print(probe.url_path, file=open(sys.argv[2] + ".path", "w"))
PY
path=$(cat "$out/request.lua.path")
port=$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
if [ "$server" = uvicorn ]; then  # as scripts/bench serves ASGI apps; one worker runs in this process
    serve=(-m uvicorn --http httptools --loop uvloop --workers 1 --no-access-log --log-level warning
           --host 127.0.0.1 --port "$port" "$target")
else
    serve=(-m benchmarks.serve "$server" "$target" --port "$port")
fi
valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out/cg.%p" \
    .venv/bin/python "${serve[@]}" >"$out/server.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.5; done
wrk -t1 -c"$conns" -d2s -s "$out/request.lua" "http://127.0.0.1:$port" >/dev/null
callgrind_control --zero "$pid" >/dev/null 2>&1
requests=$(wrk -t1 -c"$conns" -d6s -s "$out/request.lua" "http://127.0.0.1:$port" | awk '/requests in/ {print $1}')
callgrind_control --dump=measured "$pid" >/dev/null 2>&1
sleep 1
file=$(grep -l "measured" "$out"/cg.* | head -1)
.venv/bin/python - "$file" "$requests" "$target" "$path" <<'PY'
import sys
path, requests = sys.argv[1], int(sys.argv[2])
events = totals = None
for line in open(path):
    if line.startswith("events:"):
        events = line.split()[1:]
    elif line.startswith(("summary:", "totals:")) and totals is None:
        totals = [int(x) for x in line.split()[1:]]
names = {"Ir": "instructions", "I1mr": "L1 instruction misses", "D1mr": "L1 data read misses",
         "D1mw": "L1 data write misses", "ILmr": "LL instruction misses", "DLmr": "LL data read misses"}
print(f"{sys.argv[3]} {sys.argv[4]}: {requests} requests")
for event, total in zip(events, totals):
    if event in names:
        print(f"  {names[event]:24s} {total / requests:>12,.0f} per request")
PY
