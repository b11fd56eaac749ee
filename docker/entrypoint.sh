#!/usr/bin/env bash
# Container entrypoint (also run directly by tests/deploy): prepare DATA_DIR, start the
# bundled Redis with docker/redis.conf, wait until it answers, run nfl-compute (the
# worker by default), forward SIGTERM/SIGINT so `docker stop` drains gracefully, then
# stop Redis cleanly.
set -euo pipefail

NFL_BIN=${NFL_BIN:-nfl-compute}
DATA_DIR=${DATA_DIR:-/data}
STATE_DIR=${STATE_DIR:-/var/lib/nfl-compute}
REDIS_CONF=${REDIS_CONF:-/etc/nfl-compute/redis.conf}
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_MAX_MEMORY=${REDIS_MAX_MEMORY:-2gb}
START_REDIS=${START_REDIS:-auto}
export DATA_DIR STATE_DIR REDIS_PORT
# redis-cli reads the password from the environment, never from argv (ps would show it).
if [ -n "${REDIS_PASSWORD:-}" ]; then export REDISCLI_AUTH="$REDIS_PASSWORD"; fi

log() { printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

mkdir -p "$DATA_DIR"/{results,artifacts,checkpoints,logs,machine_dumps} "$STATE_DIR/redis"

redis_pid=""
# A stop request before nfl-compute runs (e.g. while Redis loads a large AOF) must
# still stop Redis cleanly; after that it is forwarded (see forward below).
# shellcheck disable=SC2317  # called through trap
early_stop() { log "received $1 before nfl-compute started"; stop_redis; exit 143; }
trap 'early_stop TERM' TERM
trap 'early_stop INT' INT

stop_redis() {
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    log "stopping redis-server"
    redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill -TERM "$redis_pid"
    wait "$redis_pid" 2>/dev/null || true
  fi
}

if [ "$START_REDIS" = "yes" ] || { [ "$START_REDIS" = "auto" ] && [ "${QUEUE_BACKEND:-sqlite}" = "redis" ] && [ "${REDIS_HOST:-localhost}" = "localhost" ]; }; then
  log "starting redis-server on 127.0.0.1:$REDIS_PORT (maxmemory $REDIS_MAX_MEMORY, noeviction)"
  redis_args=("$REDIS_CONF" --port "$REDIS_PORT" --dir "$STATE_DIR/redis" --maxmemory "$REDIS_MAX_MEMORY"
    --logfile "$DATA_DIR/logs/redis.log" --pidfile "$STATE_DIR/redis/redis.pid")
  if [ -n "${REDIS_PASSWORD:-}" ]; then redis_args+=(--requirepass "$REDIS_PASSWORD"); fi
  redis-server "${redis_args[@]}" &
  redis_pid=$!
  for _ in $(seq 1 100); do
    if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then break; fi
    if ! kill -0 "$redis_pid" 2>/dev/null; then log "redis-server exited; see $DATA_DIR/logs/redis.log"; exit 1; fi
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping | grep -q PONG || { log "redis-server did not answer"; exit 1; }
fi

# `docker-compose run nfl-analytics nfl-compute --init` passes the program name too.
if [ $# -gt 0 ] && [ "$1" = "nfl-compute" ]; then shift; fi
if [ $# -eq 0 ]; then set -- worker; fi
"$NFL_BIN" "$@" &
app_pid=$!
# shellcheck disable=SC2317  # called through trap
forward() { log "received $1, forwarding to nfl-compute"; kill -"$1" "$app_pid" 2>/dev/null || true; }
trap 'forward TERM' TERM
trap 'forward INT' INT

status=0
# `wait` returns early when a trapped signal arrives; keep waiting until the app exits.
while kill -0 "$app_pid" 2>/dev/null; do
  wait "$app_pid" && status=0 || status=$?
done
log "nfl-compute exited with status $status"
stop_redis
exit "$status"
