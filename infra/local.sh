#!/usr/bin/env bash
# Local PostgreSQL, Redis and Kafka for lambdarec, without Docker.
#
#   bash infra/local.sh up|down|status|env
#
# Fixed loopback ports so every app and test can hard-code them (see `env`):
#   PostgreSQL 127.0.0.1:55432   Redis 127.0.0.1:56379   Kafka 127.0.0.1:59092 (controller 59093)
# State lives in <project>/.local (override with LREC_LOCAL_DIR); `down` keeps it.
# What infra/cluster.sh shares with this script (the PostgreSQL primary above all) is in lib/common.sh.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readonly REDIS_PORT=56379 KAFKA_PORT=59092 KAFKA_CONTROLLER_PORT=59093
# The three-broker cluster (infra/cluster.sh) listens on 59092-59094 by default.
readonly CLUSTER_HINT="; or, if it is the Kafka cluster of infra/cluster.sh, stop that (npm run cluster:down)"

# ---------------------------------------------------------------------------------------
# Redis

REDIS_DIR=$LOCAL_DIR/redis
REDIS_PID=$REDIS_DIR/redis.pid
REDIS_LOG=$REDIS_DIR/redis.log

redis_pid() { read_pid "$REDIS_PID"; }
redis_running() { local p; p=$(redis_pid) && pid_matches "$p" redis-server && port_open "$REDIS_PORT"; }
redis_version() { redis-server --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p'; }

redis_up() {
  if redis_running; then
    log "redis $(redis_version) already up on $HOST:$REDIS_PORT (pid $(redis_pid))"
    return
  fi
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by a process that is not this project's redis$TAKEN_HINT"
  mkdir -p "$REDIS_DIR/data"
  # noeviction: BullMQ breaks if Redis drops keys. appendonly: queued jobs survive a restart.
  redis-server --port "$REDIS_PORT" --bind "$HOST" \
    --appendonly yes --maxmemory-policy noeviction \
    --daemonize yes --dir "$REDIS_DIR/data" --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" 9>&- ||
    { show_log_tail "$REDIS_LOG"; die "redis failed to start (log: $REDIS_LOG)"; }
  wait_for "$READY_TIMEOUT" "$REDIS_LOG" redis redis_ping
  log "redis $(redis_version) up on $HOST:$REDIS_PORT (pid $(redis_pid))"
}
redis_ping() { [[ $(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_down() {
  local pid
  pid=$(redis_pid)
  if [[ -z $pid ]] || ! pid_matches "$pid" redis-server; then
    log "redis not running"
    return
  fi
  # SIGTERM = SHUTDOWN (flushes the AOF); by pid so a foreign redis on the port is never hit.
  kill -TERM "$pid"
  stop_wait "$pid" redis-server 30
  log "redis stopped"
}

redis_status() {
  if redis_running; then
    printf '%-9s up    %s:%s  pid %-7s %s\n' redis "$HOST" "$REDIS_PORT" "$(redis_pid)" "$(redis_version)"
  else
    printf '%-9s down  %s:%s\n' redis "$HOST" "$REDIS_PORT"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------
# Kafka

KAFKA_PID=$KAFKA_DIR/kafka.pid
KAFKA_LOGS=$KAFKA_DIR/logs
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_CONF=$KAFKA_DIR/server.properties

kafka_pid() { read_pid "$KAFKA_PID"; }
kafka_running() { local p; p=$(kafka_pid) && pid_matches "$p" kafka.Kafka && port_open "$KAFKA_PORT"; }
# Version of the running broker, read from its classpath (the pom may have changed since).
kafka_running_version() {
  local p cmd jar
  p=$(kafka_pid) || return 0
  cmd=$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null) || return 0
  # The classpath is a wildcard (kafka/libs/<version>/*), so the version is the folder name.
  jar=${cmd#*/kafka/libs/}
  [[ $jar != "$cmd" ]] && printf '%s\n' "${jar%%/*}"
}

kafka_up() {
  if kafka_running; then
    log "kafka $(kafka_running_version) already up on $HOST:$KAFKA_PORT (pid $(kafka_pid))"
    local_topics
    return
  fi
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port $p is taken by a process that is not this project's kafka$TAKEN_HINT$CLUSTER_HINT"
  done
  kafka_libs
  mkdir -p "$KAFKA_LOGS" "$KAFKA_DATA"
  sed "s|@LOG_DIRS@|$KAFKA_DATA|" "$INFRA_DIR/kafka/server.properties" >"$KAFKA_CONF"

  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    local cluster_id
    cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
    kafka_tool kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$KAFKA_CONF" \
      --standalone >"$KAFKA_LOGS/format.log" 2>&1 ||
      { show_log_tail "$KAFKA_LOGS/format.log"; die "kafka storage format failed"; }
  fi

  rm -f "$KAFKA_PID"
  # setsid: the broker must not die with the caller's process group (CI steps, test
  # runners). The wrapper writes its own pid before exec, so the pidfile is the JVM's pid.
  # shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PID" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_LOGS" \
    -Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" \
    >"$KAFKA_LOGS/stdout.log" 2>&1 </dev/null 9>&- &
  wait_for "$READY_TIMEOUT" "$KAFKA_LOGS/server.log" "kafka (pid file)" test -s "$KAFKA_PID"
  wait_for "$READY_TIMEOUT" "$KAFKA_LOGS/server.log" kafka kafka_ready
  log "kafka $KAFKA_VERSION up on $HOST:$KAFKA_PORT (pid $(kafka_pid))"
  local_topics
}

kafka_ready() {
  local p
  p=$(kafka_pid)
  # Without this check a crashed broker would only surface after the full timeout.
  if ! pid_matches "$p" kafka.Kafka; then
    printf 'infra: kafka exited during startup\n' >&2
    show_log_tail "$KAFKA_LOGS/server.log"
    show_log_tail "$KAFKA_LOGS/stdout.log"
    exit 1
  fi
  port_open "$KAFKA_PORT" || return 1
  # An open port is not enough: the broker only serves metadata once it has caught up.
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "$HOST:$KAFKA_PORT" -L -m 2 >/dev/null 2>&1
  else
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
      --list >/dev/null 2>&1
  fi
}

# The topics on this one broker: replication factor 1, the settings every event topic has.
local_topics() {
  kafka_topics "$HOST:$KAFKA_PORT" 1 "$KAFKA_DIR/topic-config.applied" "$KAFKA_DATA/meta.properties" \
    "${TOPIC_CONFIG[@]}"
}

kafka_down() {
  local pid
  pid=$(kafka_pid)
  if [[ -z $pid ]] || ! pid_matches "$pid" kafka.Kafka; then
    log "kafka not running"
    return
  fi
  kill -TERM "$pid"
  stop_wait "$pid" kafka.Kafka 30
  rm -f "$KAFKA_PID"
  log "kafka stopped"
}

kafka_status() {
  if kafka_running; then
    printf '%-9s up    %s:%s  pid %-7s %s\n' kafka "$HOST" "$KAFKA_PORT" "$(kafka_pid)" "$(kafka_running_version)"
  else
    printf '%-9s down  %s:%s  %s\n' kafka "$HOST" "$KAFKA_PORT" "$KAFKA_VERSION"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------

cmd_env() {
  printf 'DATABASE_URL=postgres://%s:%s@%s:%s/%s\n' "$PG_USER" "$PG_PASSWORD" "$HOST" "$PG_PORT" "$PG_DB"
  printf 'REDIS_URL=redis://%s:%s\n' "$HOST" "$REDIS_PORT"
  printf 'KAFKA_BROKERS=%s:%s\n' "$HOST" "$KAFKA_PORT"
}

cmd_up() {
  local start=$SECONDS need_mvn=0
  [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] || need_mvn=1
  ensure_software "$need_mvn"
  take_lock
  pg_paths
  pg_up
  redis_up
  kafka_up
  log "all up in $((SECONDS - start))s (state: $LOCAL_DIR)"
}

cmd_down() {
  take_lock
  pg_paths
  kafka_down
  redis_down
  pg_down
}

cmd_status() {
  pg_paths
  local rc=0
  pg_status || rc=3
  redis_status || rc=3
  kafka_status || rc=3
  return "$rc"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    printf 'usage: %s up|down|status|env\n' "$0" >&2
    exit 2
    ;;
esac
