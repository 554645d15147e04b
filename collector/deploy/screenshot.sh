#!/usr/bin/env bash
# Takes the README's picture: Prometheus's graph of a PromQL query over the
# last minute, rendered by headless Chromium (Debian's "chromium" package,
# installed if missing). Run it while fleet.sh and the demo run.
#
#   collector/deploy/screenshot.sh [query] [out.png]   (RANGE: the graph's span, default 1m)
set -euo pipefail
query=${1:-'sum by (http_response_status_code) (http_server_request_count_total)'}
out=${2:-$(cd "$(dirname "$0")" && pwd)/prometheus-graph.png}
prom=http://127.0.0.1:${PROMETHEUS_PORT:-9090}
if ! command -v chromium >/dev/null; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
fi
expr=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$query")
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
  --virtual-time-budget=20000 --screenshot="$out" \
  "$prom/graph?g0.expr=$expr&g0.tab=0&g0.stacked=0&g0.show_exemplars=0&g0.range_input=${RANGE:-1m}" >/dev/null 2>&1
echo "wrote $out"
