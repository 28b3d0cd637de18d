#!/usr/bin/env bash
# Starts a Temporal dev server by hand (callsaga `dev` does this for you as a child process):
# gRPC on 127.0.0.1:7233, Web UI on http://localhost:8233, state in <repo>/data/temporal.db,
# with callsaga's search attributes registered.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$("$root/temporal/install.sh")"
mkdir -p "$root/data"
args=()
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  args+=(--search-attribute "$line")
done < "$root/temporal/search-attributes.conf"
exec "$bin" server start-dev --ip 127.0.0.1 --port "${TEMPORAL_PORT:-7233}" \
  --ui-port "${TEMPORAL_UI_PORT:-8233}" --db-filename "$root/data/temporal.db" \
  --log-level warn "${args[@]}" "$@"
