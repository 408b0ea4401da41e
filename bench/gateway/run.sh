#!/usr/bin/env bash
# Gateway overhead: YARP (Beacon's gateway) vs nginx proxying the same backend, measured with wrk in one run.
# The backend is an nginx location answering a fixed small JSON body (no database, no service code), so
# the figures are the proxies' own cost. Four wrk runs, same settings: backend direct, through nginx,
# through a bare YARP (bench/BareYarp: YARP alone, nothing of Beacon's) and through the YARP gateway, so
# the gap splits into YARP's own cost and the cost of the gateway's middleware (token, audit, limits). Prints a markdown table on stdout (./beacon bench puts it in bench/RESULTS.md).
# Then the same four at a steady, moderate rate (wrk's delay() paces each connection), where latency is the
# proxy's own and not the queue of a saturated machine: that is the run the added-p99 goal is read from.
#   bench/gateway/run.sh [seconds=20] [connections=64] [configuration=Release] [paced requests/s=1000]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_EACH=${1:-20}
CONNS=${2:-64}
CONFIG=${3:-Release}
PACED_RATE=${4:-1000}
# Paced run: 10 connections, each waiting PAUSE ms before its next request (about PACED_RATE requests/s in all).
PACED_CONNS=10
PAUSE_MS=$(( PACED_CONNS * 1000 / PACED_RATE ))
[ "$PAUSE_MS" -ge 1 ] || { echo "paced rate too high for $PACED_CONNS connections (at most $(( PACED_CONNS * 1000 ))/s)" >&2; exit 2; }
command -v nginx >/dev/null || { echo "nginx is missing (Debian: apt-get install nginx)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing (Debian: apt-get install wrk)" >&2; exit 2; }
GW_DLL=$ROOT/gateway/bin/$CONFIG/net10.0/Gateway.dll
[ -f "$GW_DLL" ] || { echo "build the gateway first (dotnet build gateway -c $CONFIG)" >&2; exit 2; }
BARE_DLL=$ROOT/bench/BareYarp/bin/$CONFIG/net10.0/BareYarp.dll
[ -f "$BARE_DLL" ] || { echo "build the bare YARP first (dotnet build bench/BareYarp -c $CONFIG)" >&2; exit 2; }

free_port() { local p; while :; do p=$((20000 + RANDOM % 10000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }; done; }
WORK=$(mktemp -d /tmp/beacon-gw-bench.XXXXXX)
BACKEND=$(free_port); NGINX=$(free_port); YARP=$(free_port); BARE=$(free_port)
GW_PID=""; BARE_PID=""
cleanup() {
  [ -n "$GW_PID" ] && kill -TERM "$GW_PID" 2>/dev/null || true
  [ -n "$BARE_PID" ] && kill -TERM "$BARE_PID" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill -QUIT "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  sleep 0.5; rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
  uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 128; }
  # The backend both proxies forward to.
  server {
    listen 127.0.0.1:$BACKEND;
    location / { default_type application/json; return 200 '{"pending":0,"lastSequence":42}'; }
  }
  # nginx as the reverse proxy.
  server {
    listen 127.0.0.1:$NGINX;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK"

# The gateway, unchanged, with its ingestion cluster pointed at the backend (warnings only in its log).
(cd "$(dirname "$GW_DLL")" && exec dotnet Gateway.dll --Kestrel:Endpoints:Http:Url="http://127.0.0.1:$YARP" \
  --Kestrel:Endpoints:Grpc:Url="http://127.0.0.1:$(free_port)" --Logging:LogLevel:Default=Warning \
  --Auth:DevIssuer:Enabled=true --Gateway:RateLimit:PermitsPerSecond=0 --Auth:SigningKey="$(head -c 32 /dev/urandom | base64)" \
  --ReverseProxy:Clusters:ingestion-http:Destinations:primary:Address="http://127.0.0.1:$BACKEND/") >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$YARP/healthz/live" && break; sleep 0.2; done
dotnet "$BARE_DLL" "http://127.0.0.1:$BARE" "http://127.0.0.1:$BACKEND/" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$BARE/" && break; sleep 0.2; done

# With authentication on, the gateway wants a token; the same header goes to all three targets.
AUTH=()
TOKEN=$(curl -s -X POST "http://127.0.0.1:$YARP/auth/dev/token" -H 'Content-Type: application/json' -d '{"user":"admin-1"}' \
  | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p' || true)
[ -n "$TOKEN" ] && AUTH=(-H "Authorization: Bearer $TOKEN")

PATH_=/api/ingestion/v1/outbox
for url in "http://127.0.0.1:$BACKEND$PATH_" "http://127.0.0.1:$NGINX$PATH_" "http://127.0.0.1:$BARE$PATH_" "http://127.0.0.1:$YARP$PATH_"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$url")
  [ "$code" = 200 ] || { echo "$url answered $code" >&2; cat "$WORK/gateway.log" >&2; exit 1; }
  wrk -t2 -c"$CONNS" -d3s "${AUTH[@]}" "$url" >/dev/null   # warm-up (JIT, connection pools)
done

run() { wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency "${AUTH[@]}" "$1" > "$WORK/$2.txt"; }
run "http://127.0.0.1:$BACKEND$PATH_" direct
run "http://127.0.0.1:$NGINX$PATH_" nginx
run "http://127.0.0.1:$BARE$PATH_" bare-yarp
run "http://127.0.0.1:$YARP$PATH_" yarp

echo "function delay() return $PAUSE_MS end" > "$WORK/pace.lua"
paced() { wrk -t1 -c"$PACED_CONNS" -d"${SECONDS_EACH}s" --latency -s "$WORK/pace.lua" "${AUTH[@]}" "$1" > "$WORK/$2.txt"; }
paced "http://127.0.0.1:$BACKEND$PATH_" paced-direct
paced "http://127.0.0.1:$NGINX$PATH_" paced-nginx
paced "http://127.0.0.1:$BARE$PATH_" paced-bare-yarp
paced "http://127.0.0.1:$YARP$PATH_" paced-yarp

rps() { awk '/^Requests\/sec/ {print $2}' "$WORK/$1.txt"; }
# wrk prints latency percentiles with units (us, ms, s); convert to milliseconds.
pct() { awk -v p="$2%" '$1 == p { v=$2; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.3f", v }' "$WORK/$1.txt"; }
errors() { awk '/Non-2xx|Socket errors/ {print}' "$WORK/$1.txt" | tr '\n' ' '; }

D=$(rps direct); N=$(rps nginx); B=$(rps bare-yarp); Y=$(rps yarp)
echo "Saturated (wrk -t2 -c$CONNS, as fast as it goes):"
echo
echo "| target | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|"
for t in direct nginx bare-yarp yarp; do echo "| $t | $(rps $t) | $(pct $t 50) | $(pct $t 99) | $(errors $t) |"; done
echo
echo "Paced (wrk -t1 -c$PACED_CONNS, each connection waits $PAUSE_MS ms between requests: about $PACED_RATE requests/s):"
echo
echo "| target | requests/s | p50 ms | p90 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
for t in direct nginx bare-yarp yarp; do echo "| $t | $(rps paced-$t) | $(pct paced-$t 50) | $(pct paced-$t 90) | $(pct paced-$t 99) | $(errors paced-$t) |"; done
echo
awk -v y="$Y" -v n="$N" -v b="$B" -v yp="$(pct paced-yarp 99)" -v np="$(pct paced-nginx 99)" -v bp="$(pct paced-bare-yarp 99)" -v dp="$(pct paced-direct 99)" \
    -v ys="$(pct yarp 99)" -v ds="$(pct direct 99)" 'BEGIN {
  printf "- throughput ratio YARP gateway / nginx: **%.2f** (goal >= 0.9); bare YARP / nginx: %.2f; gateway / bare YARP: %.2f\n", y / n, b / n, y / b;
  printf "- p99 added over the direct backend at the paced rate: YARP gateway **%.3f ms**, bare YARP %.3f ms, nginx %.3f ms (goal for YARP < 1 ms)\n", yp - dp, bp - dp, np - dp;
  printf "- p99 added when saturated (queueing on a shared machine, not the proxy alone): YARP gateway %.3f ms\n", ys - ds }'
echo
echo "GET $PATH_ (a fixed 32-byte JSON answer from an nginx backend), ${SECONDS_EACH}s per run; nginx $(nginx -v 2>&1 | sed 's/.*\///'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); load generator, proxies and backend share the machine. The gateway runs as shipped except its per-caller rate limit, which is off (it would cap one caller at 100 requests/s); $([ -n "$TOKEN" ] && echo "token validation on, an administrator token on every request" || echo "this build has no token validation (no development issuer answered)")."
