#!/usr/bin/env bash
# The fleet figures of BENCHMARKS.md ("Fleet aggregation"): starts a fleet
# with the sample off, sends one round of N simulated instances
# (deploy/loadgen) through HAProxy, and prints Prometheus's head series,
# what the replicas' CPU and memory came to, and how long each README
# query takes.
#
#   collector/deploy/figures.sh [instances] [replicas]   (defaults 10000 3)
#
# It uses fleet.sh's environment (FLEET_DIR, FLEET_PORT, PROMETHEUS_PORT)
# and stops the fleet at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-10000}
replicas=${2:-3}
export FLEET_DIR=${FLEET_DIR:-${TMPDIR:-/tmp}/telemetry-fleet-figures}
export FLEET_BACKGROUND=1 SAMPLE_RATE=0 EXPORT_INTERVAL=5s
port=${FLEET_PORT:-8418}
prom=http://127.0.0.1:${PROMETHEUS_PORT:-9090}
trap '"$here/fleet.sh" stop >/dev/null' EXIT
# Each run starts empty: the replicas' storage would otherwise bring back
# an earlier run's totals and update keys, and the same instances' updates
# would be taken for repeats.
rm -rf "$FLEET_DIR"/replica*-storage
"$here/fleet.sh" start "$replicas" >/dev/null
mapfile -t pids <"$FLEET_DIR/pids" # Prometheus, the replicas, HAProxy

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
declare -a cpu0 rss0
for r in $(seq "$replicas"); do cpu0[r]=$(cpu_ticks "${pids[r]}"); rss0[r]=$(rss_kib "${pids[r]}"); done

(cd "$here/.." && go build -o "$FLEET_DIR/loadgen" ./deploy/loadgen/cmd/loadgen)
"$FLEET_DIR/loadgen" -endpoint "http://127.0.0.1:$port/v1/update/" -instances "$n" -rounds 1
sleep 15 # three exports and their remote writes

hz=$(getconf CLK_TCK)
for r in $(seq "$replicas"); do
  pid=${pids[r]}
  held=$(curl -s "$prom/api/v1/query" --data-urlencode "query=last_over_time(fleet_processor_instances{fleet_replica=\"replica$r\"}[1m])" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
  cpu=$(( $(cpu_ticks "$pid") - cpu0[r] ))
  rss=$(( $(rss_kib "$pid") - rss0[r] ))
  echo "replica$r: $held instances, $(awk -v c="$cpu" -v hz="$hz" -v n="$held" 'BEGIN {printf "%.2f CPU-s, %.0f updates per CPU-second", c/hz, n/(c/hz)}'), RSS +$((rss / 1024)) MiB ($(awk -v r="$rss" -v n="$held" 'BEGIN {printf "%.0f", r*1024/n}') bytes per instance)"
done
echo "prometheus_tsdb_head_series $(curl -s "$prom/metrics" | awk '/^prometheus_tsdb_head_series /{print $2}')"

w=2h
for q in "sum(last_over_time(fleet_processor_instances[$w]))" \
  "sum by (telemetry_value) (last_over_time(fleet_version_instances[$w]))" \
  "sum(last_over_time(fleet_c00[1d]))" \
  "topk(10, sum by (telemetry_value) (last_over_time(fleet_agent_total[1d])))" \
  "sum by (telemetry_value) (last_over_time(fleet_build_instances{telemetry_subkey=\"os\"}[$w]))" \
  "histogram_quantile(0.9, sum by (le) (last_over_time(fleet_goroutines_bucket[$w])))"; do
  best=
  for _ in 1 2 3 4 5; do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$prom/api/v1/query" --data-urlencode "query=$q")
    best=$(awk -v a="${best:-$t}" -v b="$t" 'BEGIN {print (b < a ? b : a)}')
  done
  echo "query $(awk -v t="$best" 'BEGIN {printf "%.1f ms", t*1000}') (best of 5): $q"
done
