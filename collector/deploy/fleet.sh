#!/usr/bin/env bash
# A telemetry fleet on one machine, as an operator would run it on many:
# N Collector replicas (telemetrycol with deploy/replica.yaml) behind
# HAProxy, writing into Prometheus, all on loopback.
#
#   collector/deploy/fleet.sh start [N]   start N replicas (default 3); Ctrl-C stops all
#   collector/deploy/fleet.sh stop        stop a fleet started in another shell
#   collector/deploy/fleet.sh drain I     move replica I's instances to the others
#                                         (before stopping it on purpose)
#   collector/deploy/fleet.sh replica I   start replica I again after it died: its
#                                         instances waited for it, its storage
#                                         knows what it had taken
#   collector/deploy/fleet.sh install     install HAProxy, Prometheus and socat (Debian packages)
#
# Environment: FLEET_DIR (state and logs; default $TMPDIR/telemetry-fleet),
# FLEET_PORT (HAProxy, default 8418; replicas take the next N ports),
# PROMETHEUS_PORT (default 9090), NEXT_UPDATE (default 1h), FLEET_WINDOW
# (default 2h), EXPORT_INTERVAL (default 15s), MIN_INSTANCES (default 5),
# SAMPLE_RATE (default 0.01), MEMORY_LIMIT_MIB (per replica, default 512).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${FLEET_DIR:-${TMPDIR:-/tmp}/telemetry-fleet}
port=${FLEET_PORT:-8418}
prom_port=${PROMETHEUS_PORT:-9090}

install() {
  local missing=()
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v socat >/dev/null || missing+=(socat)
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]} from Debian's packages"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  # Debian starts the packages' own services where systemd runs; the fleet
  # starts its own processes on loopback and leaves those alone.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# alive says whether process $1 runs; a zombie (dead, its exit status not
# yet collected by whoever adopted it) does not.
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop() {
  [ -f "$dir/pids" ] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$dir/pids"
  while read -r pid; do
    while alive "$pid"; do sleep 0.1; done
  done <"$dir/pids"
  rm -f "$dir/pids"
  echo "fleet stopped"
}

# drain takes replica $1 out of HAProxy's hash (maintenance): its instances
# go to the others from their next update on, and it can then be stopped.
drain() {
  echo "set server replicas/replica$1 state maint" | socat - "UNIX-CONNECT:$dir/haproxy.sock"
  echo "replica$1 drained"
}

# wait_port waits until something listens on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1; see the logs in $dir" >&2
  return 1
}

# start_replica starts replica $1 in the background, on its own port and
# storage directory (the same after a crash), and puts its pid on line $1+1
# of the pids file (Prometheus is line 1).
start_replica() {
  local i=$1
  REPLICA_ENDPOINT="127.0.0.1:$((port + i))" REMOTE_WRITE_URL="http://127.0.0.1:$prom_port/api/v1/write" \
    REPLICA_NAME="replica$i" REPLICA_STORAGE_DIR="$dir/replica$i-storage" NEXT_UPDATE="${NEXT_UPDATE:-1h}" \
    FLEET_WINDOW="${FLEET_WINDOW:-2h}" EXPORT_INTERVAL="${EXPORT_INTERVAL:-15s}" MIN_INSTANCES="${MIN_INSTANCES:-5}" \
    SAMPLE_RATE="${SAMPLE_RATE:-0.01}" MEMORY_LIMIT_MIB="${MEMORY_LIMIT_MIB:-512}" \
    "$dir/telemetrycol" --config "$here/replica.yaml" >>"$dir/replica$i.log" 2>&1 &
  local pid=$!
  if [ "$(wc -l <"$dir/pids")" -gt "$i" ]; then
    sed -i "$((i + 1))s/.*/$pid/" "$dir/pids"
  else
    echo "$pid" >>"$dir/pids"
  fi
}

start() {
  local n=${1:-3}
  install
  stop
  mkdir -p "$dir"
  : >"$dir/pids"
  echo "building telemetrycol"
  (cd "$here/.." && go build -o "$dir/telemetrycol" ./cmd/telemetrycol)

  prometheus --config.file="$here/prometheus.yml" --storage.tsdb.path="$dir/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" --web.enable-remote-write-receiver \
    >"$dir/prometheus.log" 2>&1 &
  echo $! >>"$dir/pids"

  cp "$here/haproxy.cfg" "$dir/haproxy.cfg"
  for i in $(seq "$n"); do
    : >"$dir/replica$i.log"
    start_replica "$i"
    echo "  server replica$i 127.0.0.1:$((port + i))" >>"$dir/haproxy.cfg"
  done
  # HAProxy starts once every replica listens: a replica still opening its
  # storage fails HAProxy's first check, is taken for down at once, and
  # would hand its instances to the others until two checks pass.
  for i in $(seq "$n"); do wait_port $((port + i)); done
  FLEET_DIR="$dir" FLEET_ADDR="127.0.0.1:$port" haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
  echo $! >>"$dir/pids"

  wait_port "$prom_port"
  wait_port "$port"
  cat <<INFO
fleet running ($n replicas), state and logs in $dir
  clients post to     http://127.0.0.1:$port/v1/update/<instance UUID>   (HAProxy)
  replicas listen on  127.0.0.1:$((port + 1))..$((port + n))
  Prometheus          http://127.0.0.1:$prom_port/
INFO
}

case ${1:-} in
  start)
    start "${2:-3}"
    # In the foreground (a terminal, not a test driving it): Ctrl-C stops all.
    if [ -z "${FLEET_BACKGROUND:-}" ]; then
      trap 'stop; exit 0' INT TERM
      echo "Ctrl-C stops the fleet"
      while true; do sleep 1; done
    fi
    ;;
  stop) stop ;;
  drain) drain "${2:?which replica (1..N)}" ;;
  replica)
    i=${2:?which replica (1..N)}
    old=$(sed -n "$((i + 1))p" "$dir/pids" 2>/dev/null || true)
    if [ -n "$old" ] && alive "$old"; then
      echo "replica$i still runs (pid $old); it starts again only after it died" >&2
      exit 1
    fi
    start_replica "$i"
    wait_port $((port + i))
    new=$(sed -n "$((i + 1))p" "$dir/pids")
    sleep 0.5 # a replica that cannot open its storage ends at once
    if ! alive "$new"; then
      echo "replica$i ended at once; see $dir/replica$i.log" >&2
      exit 1
    fi
    echo "replica$i started"
    ;;
  install) install ;;
  *) sed -n '2,21p' "$0"; exit 2 ;;
esac
