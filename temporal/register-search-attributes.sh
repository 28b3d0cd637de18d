#!/usr/bin/env bash
# Registers callsaga's search attributes on an existing cluster (self-hosted or Temporal Cloud
# via `tcld`/UI; see PRODUCTION.md). Uses the standard TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE /
# TEMPORAL_TLS_* / TEMPORAL_API_KEY environment variables of the Temporal CLI.
# Attributes that already exist are reported and skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$("$root/temporal/install.sh")"
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  name="${line%%=*}"; type="${line#*=}"
  if "$bin" operator search-attribute create --name "$name" --type "$type" 2>/tmp/sa-err.$$; then
    echo "registered $name ($type)"
  elif grep -qi "already exists" /tmp/sa-err.$$; then
    echo "exists     $name"
  else
    cat /tmp/sa-err.$$ >&2; rm -f /tmp/sa-err.$$; exit 1
  fi
done < "$root/temporal/search-attributes.conf"
rm -f /tmp/sa-err.$$
