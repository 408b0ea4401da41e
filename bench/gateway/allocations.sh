#!/usr/bin/env bash
# What each proxied request costs the gateway and a bare YARP in the same run, from the runtime's own counters
# (dotnet-counters: bytes allocated, CPU, GC pause, lock contentions per request), wrk -t1 -c16 for 10 s each against
# the same nginx backend as bench/gateway/run.sh. Allocations per request hardly move with the machine's load, so they
# can compare two builds on a shared machine where throughput ratios cannot.
#   bench/gateway/allocations.sh [configuration=Release] [label=this build]
# Needs wrk, nginx and dotnet-counters (dotnet tool install -g dotnet-counters).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONFIG=${1:-Release}; LABEL=${2:-this build}
GWDIR=$ROOT/gateway/bin/$CONFIG/net10.0; BAREDIR=$ROOT/bench/BareYarp/bin/$CONFIG/net10.0
COUNTERS=$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")
[ -x "$COUNTERS" ] || { echo "dotnet-counters is missing (dotnet tool install -g dotnet-counters)" >&2; exit 2; }
[ -f "$GWDIR/Gateway.dll" ] && [ -f "$BAREDIR/BareYarp.dll" ] || { echo "build first: dotnet build gateway -c $CONFIG; dotnet build bench/BareYarp -c $CONFIG" >&2; exit 2; }
free_port() { local p; while :; do p=$((20000 + RANDOM % 10000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }; done; }
WORK=$(mktemp -d); BACKEND=$(free_port); GWP=$(free_port); BP=$(free_port)
cat > $WORK/nginx.conf <<CONF
worker_processes 1; pid $WORK/nginx.pid; error_log $WORK/error.log warn;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path $WORK/b; proxy_temp_path $WORK/p; fastcgi_temp_path $WORK/f; uwsgi_temp_path $WORK/u; scgi_temp_path $WORK/s;
 server { listen 127.0.0.1:$BACKEND; location / { default_type application/json; return 200 '{"pending":0,"lastSequence":42}'; } } }
CONF
nginx -c $WORK/nginx.conf -p $WORK
(cd $GWDIR && exec dotnet Gateway.dll --Kestrel:Endpoints:Http:Url="http://127.0.0.1:$GWP" \
  --Kestrel:Endpoints:Grpc:Url="http://127.0.0.1:$(free_port)" --Logging:LogLevel:Default=Warning \
  --Auth:DevIssuer:Enabled=true --Gateway:RateLimit:PermitsPerSecond=0 --Auth:SigningKey="$(head -c 32 /dev/urandom | base64)" \
  --ReverseProxy:Clusters:ingestion-http:Destinations:primary:Address="http://127.0.0.1:$BACKEND/") >$WORK/gw.log 2>&1 &
GW=$!
dotnet $BAREDIR/BareYarp.dll "http://127.0.0.1:$BP" "http://127.0.0.1:$BACKEND/" > $WORK/bare.log 2>&1 &
BA=$!
trap 'kill $GW $BA 2>/dev/null; kill -QUIT $(cat $WORK/nginx.pid); rm -rf $WORK' EXIT
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$GWP/healthz/live" && break; sleep 0.2; done
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$BP/" && break; sleep 0.2; done
TOKEN=$(curl -s -X POST "http://127.0.0.1:$GWP/auth/dev/token" -H 'Content-Type: application/json' -d '{"user":"admin-1"}' | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
one() { # pid url label
  local url=$2
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" $url)" = 200 ] || { echo "$url not 200"; cat $WORK/gw.log; exit 1; }
  wrk -t1 -c16 -d5s -H "Authorization: Bearer $TOKEN" $url >/dev/null
  rm -f $WORK/c.csv
  "$COUNTERS" collect -p $1 --counters System.Runtime --refresh-interval 1 --format csv -o $WORK/c.csv --duration 00:00:00:16 > /dev/null 2>&1 &
  local DC=$!
  sleep 3
  wrk -t1 -c16 -d10s -H "Authorization: Bearer $TOKEN" $url > $WORK/w.txt
  sleep 2.5
  wait $DC 2>/dev/null || true
  local req; req=$(awk '/requests in/ {print $1}' $WORK/w.txt)
  awk -F, -v r=$req -v l="$3" '
    $3 ~ /total_allocated/ {a+=$5} $3 ~ /gc.pause.time/ {p+=$5} $3 ~ /cpu.time/ {c+=$5}
    $3 ~ /collections.*gen0/ {g+=$5} $3 ~ /lock_contentions/ {k+=$5}
    END { printf "%s: %d requests; %.0f bytes allocated, %.1f µs CPU, %.1f µs GC pause, %.3f lock contentions per request; %d gen0 GCs\n", l, r, a/r, c*1e6/r, p*1e6/r, k/r, g }' $WORK/c.csv
}
one $BA "http://127.0.0.1:$BP/api/ingestion/v1/outbox" "$LABEL bare"
one $GW "http://127.0.0.1:$GWP/api/ingestion/v1/outbox" "$LABEL gateway"
