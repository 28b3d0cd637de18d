# Sourced by scripts/failover-measure and scripts/scale-measure: a Temporal dev server (in
# memory), a fresh PostgreSQL database, and `callsaga api` / `callsaga worker` processes on them.
# Needs $root; sets $exe, $dir, $url, $tport, $token and the CALLSAGA_* environment; every pid
# started goes to the array `pids`, which `stack_cleanup` (an EXIT trap) kills.
exe="${CALLSAGA_EXE:-${CARGO_TARGET_DIR:-$root/target}/debug/callsaga}"
unset CALLSAGA_EXE # the service refuses CALLSAGA_* variables it does not know
pg="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432}"
pids=()

stack_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# stack_up NAME: a new folder, database, Temporal server; migrated and seeded.
stack_up() {
  dir="$(mktemp -d "/tmp/callsaga-$1.XXXX")"
  local db="callsaga_${1//-/_}_$$_$RANDOM"
  psql "$pg/test" -qc "create database $db"
  url="$pg/$db"
  tport=$(free_port)
  local sa=() line
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    sa+=(--search-attribute "$line")
  done < "$root/temporal/search-attributes.conf"
  "$root/.temporal/venv/bin/temporal" server start-dev --headless --ip 127.0.0.1 --port "$tport" \
    --log-level error "${sa[@]}" >"$dir/temporal.log" 2>&1 &
  temporal_pid=$!; pids+=($!)
  until (exec 3<>/dev/tcp/127.0.0.1/$tport) 2>/dev/null; do sleep 0.2; done
  sleep 2
  token="measure-$$"
  export CALLSAGA_DATABASE_URL="$url" CALLSAGA_DATABASE_MAX_CONNECTIONS=10 \
    CALLSAGA_TEMPORAL__ADDRESS="http://127.0.0.1:$tport" CALLSAGA_TEMPORAL__TASK_QUEUE="callsaga-$1" \
    CALLSAGA_WEBHOOK__AUTH__MODE=bearer CALLSAGA_WEBHOOK__AUTH__TOKEN="$token" \
    CALLSAGA_EMAIL__BACKEND=file CALLSAGA_EMAIL__DIR="$dir/mail" CALLSAGA_DATA_DIR="$dir" \
    CALLSAGA_CALLS__REPORT_TIMEOUT_SECS=20 CALLSAGA_CALLS__LATE_REPORT_WINDOW_SECS=10 \
    CALLSAGA_RELAY__POLL_INTERVAL_MS=200 CALLSAGA_RELAY__MAX_BACKOFF_MS=2000 \
    CALLSAGA_RELAY__CLAIM_LEASE_MS="${LEASE_MS:-3000}" RUST_LOG=warn
  "$exe" migrate up >"$dir/migrate.log" 2>&1
  "$exe" seed >"$dir/seed.log" 2>&1
}

# start_api ADDRESS LOG: one API process on ADDRESS (host:port); its pid in `last_pid`.
start_api() {
  CALLSAGA_LISTEN="$1" "$exe" api >>"$dir/$2.log" 2>&1 & last_pid=$!; pids+=($!)
}

# start_worker LOG: one worker process; its pid in `last_pid`.
start_worker() {
  "$exe" worker >>"$dir/$1.log" 2>&1 & last_pid=$!; pids+=($!)
}

wait_ready() { until curl -sf "http://$1/readyz" >/dev/null; do sleep 0.3; done; }

# stack_apis N: N API processes; their pids in `apis`, addresses in `backends`; waits until ready.
stack_apis() {
  apis=(); backends=()
  local i b
  for i in $(seq 1 "$1"); do
    backends+=("127.0.0.1:$(free_port)")
    start_api "${backends[-1]}" "api$i"; apis+=("$last_pid")
  done
  for b in "${backends[@]}"; do wait_ready "$b"; done
}

# stack_workers N: N worker processes; their pids in `workers`.
stack_workers() {
  workers=()
  local i
  for i in $(seq 1 "$1"); do start_worker "worker$i"; workers+=("$last_pid"); done
}
