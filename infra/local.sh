#!/usr/bin/env bash
# Local PostgreSQL, Redis and Kafka for lambdarec, without Docker.
#
#   bash infra/local.sh up|down|status|env
#
# Fixed loopback ports so every app and test can hard-code them (see `env`):
#   PostgreSQL 127.0.0.1:55432   Redis 127.0.0.1:56379   Kafka 127.0.0.1:59092 (controller 59093)
# State lives in <project>/.local (override with LREC_LOCAL_DIR); `down` keeps it.
set -euo pipefail

INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_DIR=$(dirname "$INFRA_DIR")
LOCAL_DIR=${LREC_LOCAL_DIR:-$PROJECT_DIR/.local}

readonly HOST=127.0.0.1
readonly PG_PORT=55432 REDIS_PORT=56379 KAFKA_PORT=59092 KAFKA_CONTROLLER_PORT=59093
readonly PG_USER=lambdarec PG_PASSWORD=lambdarec PG_DB=lambdarec
readonly TOPICS=("events.v1:6" "events.v1.dlq:6")
# Every event topic's settings, as libs/contracts/src/topic-config.ts gives them (and says why):
# records carry the broker's append time, so retention cannot delete backdated events unread.
readonly TOPIC_CONFIG=("message.timestamp.type=LogAppendTime")
# The ports are fixed, so two checkouts cannot both run their infrastructure.
readonly TAKEN_HINT="; if another checkout runs it, stop it there (npm run infra:down) or share its state (LREC_LOCAL_DIR=<that checkout>/.local)"
readonly READY_TIMEOUT=${LREC_READY_TIMEOUT:-60}

log() { printf '%s\n' "$*"; }
die() { printf 'infra: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# /dev/tcp avoids depending on nc/ss being installed.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# A pid only counts as ours if it is alive AND runs the expected program: pidfiles outlive
# reboots and pids get reused, and `down` must never signal a stranger.
pid_matches() {
  local pid=$1 pattern=$2 cmd
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$pattern"* ]]
}
read_pid() { if [[ -s $1 ]]; then head -n1 "$1" | tr -dc '0-9'; fi; }

show_log_tail() {
  local file=$1
  if [[ -f $file ]]; then
    printf -- '--- last lines of %s ---\n' "$file" >&2
    tail -n 25 "$file" >&2
    printf -- '---\n' >&2
  else
    printf 'infra: (no log file at %s)\n' "$file" >&2
  fi
}

# wait_for <seconds> <log file> <description> <command...>
wait_for() {
  local timeout=$1 logfile=$2 what=$3; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      printf 'infra: %s not ready after %ss\n' "$what" "$timeout" >&2
      show_log_tail "$logfile"
      exit 1
    fi
    sleep 0.3
  done
}

# ---------------------------------------------------------------------------------------
# Software

pg_bin_dir() {
  # Prefer the major version that created the existing cluster: a newer major installed
  # later cannot open old data files.
  local want="" d
  if [[ -n ${PG_DATA:-} && -f $PG_DATA/PG_VERSION ]]; then
    want=$(cat "$PG_DATA/PG_VERSION")
    [[ -x /usr/lib/postgresql/$want/bin/postgres ]] && { echo "/usr/lib/postgresql/$want/bin"; return; }
  fi
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n1)
  [[ -n $d && -x $d/postgres ]] && echo "$d"
}

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v=$(java -version 2>&1 | sed -n '/version "/{s/.*version "\([0-9]*\).*/\1/p;q}')
  [[ -n $v && $v -ge 17 ]]
}

apt_install() {
  log "installing missing packages: $*"
  # Debian postinst scripts would start a default postgres (5432) / redis (6379) that we
  # never asked for; a temporary policy-rc.d (101 = action forbidden) prevents that.
  local policy=/usr/sbin/policy-rc.d added=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added=1
  fi
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "$@"; then
    apt-get update && apt-get install -y --no-install-recommends "$@" || rc=$?
  fi
  ((added)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get install $* failed"
}

ensure_software() {
  local need_mvn=$1 missing=()
  [[ -n $(pg_bin_dir) ]] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
  java_ok || missing+=(openjdk-17-jre-headless)
  if ((need_mvn)) && ! command -v mvn >/dev/null 2>&1; then missing+=(maven); fi
  # kcat: a non-JS producer for the codec tests (and a fast topic check here).
  command -v kcat >/dev/null 2>&1 || missing+=(kcat)
  ((${#missing[@]} == 0)) && return 0
  if is_root && command -v apt-get >/dev/null 2>&1; then
    apt_install "${missing[@]}"
  else
    printf 'infra: missing software. Install it first, e.g.:\n  sudo apt-get install -y %s\n' "${missing[*]}" >&2
    printf '(Debian package names; on other systems: PostgreSQL server, Redis 6+, Java 17+ JRE, Maven 3.8+, kcat)\n' >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL

pg_paths() {
  # initdb/pg_ctl refuse to run as root, so as root the cluster belongs to `postgres`, which
  # must be able to reach the data dir. Under a 0700 home it cannot: use /tmp instead.
  PG_AS=()
  PG_BASE=$LOCAL_DIR/postgres
  if is_root; then
    PG_AS=(runuser -u postgres --)
    if ! id postgres >/dev/null 2>&1 || ! as_pg test -x "$LOCAL_DIR"; then
      local hash
      hash=$(printf '%s' "$LOCAL_DIR" | sha1sum | cut -c1-12)
      PG_BASE=/tmp/lambdarec-$hash/postgres
      PG_FALLBACK=1
    fi
  fi
  PG_DATA=$PG_BASE/data
  PG_SOCK=$PG_BASE/run
  PG_LOG=$PG_BASE/postgres.log
}

# cd /: the postgres user usually cannot read the caller's cwd, and psql/initdb warn about it.
as_pg() { (cd / && "${PG_AS[@]}" "$@"); }

pg_pid() { [[ -f $PG_DATA/postmaster.pid ]] && read_pid "$PG_DATA/postmaster.pid"; }
pg_running() { local p; p=$(pg_pid) && pid_matches "$p" postgres && port_open "$PG_PORT"; }
pg_version() { if [[ -f $PG_DATA/PG_VERSION ]]; then cat "$PG_DATA/PG_VERSION"; fi; }

pg_up() {
  if pg_running; then
    log "postgres $(pg_version) already up on $HOST:$PG_PORT (pid $(pg_pid))"
    return
  fi
  port_open "$PG_PORT" && die "port $PG_PORT is taken by a process that is not this project's postgres (data: $PG_DATA)$TAKEN_HINT"
  ((${PG_FALLBACK:-0})) && log "postgres: user 'postgres' cannot enter $LOCAL_DIR; using $PG_BASE instead"

  local bin
  bin=$(pg_bin_dir) || true
  [[ -n $bin ]] || die "postgres binaries not found under /usr/lib/postgresql"

  if [[ ! -d $PG_BASE ]]; then
    mkdir -p "$PG_BASE"
    # The fallback's parent holds nothing but this; keep it traversable for `postgres`.
    chmod 755 "$(dirname "$PG_BASE")"
  fi
  mkdir -p "$PG_SOCK"
  if is_root; then chown postgres:postgres "$PG_BASE" "$PG_SOCK"; fi
  chmod 700 "$PG_BASE"

  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    rm -rf "$PG_DATA"
    local pwfile=$PG_BASE/.pw
    printf '%s\n' "$PG_PASSWORD" >"$pwfile"
    if is_root; then chown postgres:postgres "$pwfile"; fi
    chmod 600 "$pwfile"
    # The bootstrap superuser *is* lambdarec (tests create databases and schemas). Local
    # socket = trust so this script needs no password; TCP requires the password.
    as_pg "$bin/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PG_BASE/initdb.log" 2>&1 ||
      { rm -f "$pwfile"; show_log_tail "$PG_BASE/initdb.log"; die "initdb failed"; }
    rm -f "$pwfile"
  fi

  # Listen address, port and socket dir are passed at start (not baked into the cluster's
  # config) so a moved project or a changed LREC_LOCAL_DIR still starts cleanly.
  as_pg "$bin/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$READY_TIMEOUT" -s \
    -o "-p $PG_PORT -c listen_addresses=$HOST -k '$PG_SOCK' -c max_connections=200" >/dev/null 9>&- ||
    { show_log_tail "$PG_LOG"; die "postgres failed to start (log: $PG_LOG)"; }
  wait_for "$READY_TIMEOUT" "$PG_LOG" postgres "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT"

  local exists
  exists=$(as_pg "$bin/psql" -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAq \
    -c "select 1 from pg_database where datname = '$PG_DB'")
  if [[ $exists != 1 ]]; then
    as_pg "$bin/createdb" -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
  fi
  log "postgres $(pg_version) up on $HOST:$PG_PORT (pid $(pg_pid), data $PG_DATA)"
}

pg_down() {
  if ! pg_running; then
    # A stale postmaster.pid is harmless: pg_ctl start checks whether the pid is alive.
    log "postgres not running"
    return
  fi
  local bin
  bin=$(pg_bin_dir)
  as_pg "$bin/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s
  log "postgres stopped"
}

pg_status() {
  if pg_running; then
    printf '%-9s up    %s:%s  pid %-7s %s\n' postgres "$HOST" "$PG_PORT" "$(pg_pid)" "$(pg_version)"
  else
    printf '%-9s down  %s:%s\n' postgres "$HOST" "$PG_PORT"
    return 1
  fi
}

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

# stop_wait <pid> <cmdline pattern> <seconds>: escalate to SIGKILL when the grace runs out.
stop_wait() {
  local pid=$1 pattern=$2 grace=$3 deadline
  deadline=$((SECONDS + grace))
  while pid_matches "$pid" "$pattern"; do
    if ((SECONDS >= deadline)); then
      log "pid $pid still alive after ${grace}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------
# Kafka

KAFKA_DIR=$LOCAL_DIR/kafka
KAFKA_PID=$KAFKA_DIR/kafka.pid
KAFKA_LOGS=$KAFKA_DIR/logs
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_CONF=$KAFKA_DIR/server.properties

# The version pinned in pom.xml; jars are cached per version so switching back and forth
# (e.g. 4.x vs 3.9.x) never re-downloads. LREC_KAFKA_VERSION overrides for experiments.
kafka_version() {
  if [[ -n ${LREC_KAFKA_VERSION:-} ]]; then echo "$LREC_KAFKA_VERSION"; return; fi
  sed -n '/<kafka.version>/{s:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p;q}' "$INFRA_DIR/pom.xml"
}
KAFKA_VERSION=$(kafka_version)
[[ -n $KAFKA_VERSION ]] || die "cannot read <kafka.version> from $INFRA_DIR/pom.xml"
KAFKA_LIBS=$KAFKA_DIR/libs/$KAFKA_VERSION

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

kafka_libs() {
  [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] && return
  log "kafka $KAFKA_VERSION: resolving jars from Maven Central (one time) ..."
  local tmp=$KAFKA_LIBS.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$KAFKA_DIR"
  mvn -B -Dstyle.color=never -f "$INFRA_DIR/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
    >"$KAFKA_DIR/mvn.log" 2>&1 ||
    { rm -rf "$tmp"; show_log_tail "$KAFKA_DIR/mvn.log"; die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"; }
  # Rename last so an interrupted download is never mistaken for a complete one.
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

kafka_java() {
  local log4j=$1; shift
  java -Djava.awt.headless=true -Dlog4j2.configurationFile="$log4j" -cp "$KAFKA_LIBS/*" "$@"
}
# CLI tools are short-lived: a C1-only small-heap JVM starts noticeably faster.
kafka_tool() {
  kafka_java "$INFRA_DIR/kafka/tools-log4j2.properties" \
    -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "$@"
}

kafka_up() {
  if kafka_running; then
    log "kafka $(kafka_running_version) already up on $HOST:$KAFKA_PORT (pid $(kafka_pid))"
    kafka_topics
    return
  fi
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port $p is taken by a process that is not this project's kafka$TAKEN_HINT"
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
  kafka_topics
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

# kcat answers in milliseconds; a TopicCommand JVM takes seconds, so use it only to create.
kafka_topic_partitions() {
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "$HOST:$KAFKA_PORT" -L -t "$1" -m 5 2>/dev/null |
      sed -n "/Unknown topic/d; s/^ *topic \"$1\" with \([0-9]*\) partitions.*/\1/p"
  else
    # TopicCommand exits non-zero for a topic that does not exist yet: that is an empty answer
    # ("create it"), not a failure of `up` (set -e with pipefail would make it one).
    { kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
      --describe --topic "$1" 2>/dev/null || true; } | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p'
  fi
}

kafka_topics() {
  local spec name parts have entry create_config=() existing=()
  for entry in "${TOPIC_CONFIG[@]}"; do create_config+=(--config "$entry"); done
  for spec in "${TOPICS[@]}"; do
    name=${spec%%:*} parts=${spec##*:}
    have=$(kafka_topic_partitions "$name")
    if [[ -z $have ]]; then
      kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 \
        "${create_config[@]}" >/dev/null
      log "kafka topic $name created ($parts partitions)"
    else
      existing+=("$name")
      [[ $have == "$parts" ]] || log "kafka topic $name has $have partitions, expected $parts (left as is)"
    fi
  done
  kafka_topic_config "${existing[@]}"
}

# Topics an older checkout created lack TOPIC_CONFIG: add it (altering is idempotent). A JVM costs
# seconds on every `up`, so a marker remembers the settings applied to this broker's data (by its
# cluster id: a reformatted broker gets them again).
kafka_topic_config() {
  local marker=$KAFKA_DIR/topic-config.applied cluster config name
  cluster=$(sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties" 2>/dev/null || true)
  config=$(IFS=,; printf '%s' "${TOPIC_CONFIG[*]}")
  [[ -f $marker && $(<"$marker") == "$cluster $config" ]] && return
  for name in "$@"; do
    kafka_tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
      --entity-type topics --entity-name "$name" --alter --add-config "$config" >/dev/null
    log "kafka topic $name set to $config"
  done
  printf '%s\n' "$cluster $config" >"$marker"
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

# Test runners may call `up` in parallel: serialise up/down on a lock inside .local.
# Daemons are started with `9>&-`: one that inherited fd 9 would hold the lock forever.
take_lock() {
  mkdir -p "$LOCAL_DIR"
  # postgres (as root) must be able to traverse .local to reach its data folder.
  chmod 755 "$LOCAL_DIR"
  exec 9>"$LOCAL_DIR/.lock"
  if ! flock -n 9; then
    log "waiting for another infra/local.sh to finish ..."
    flock -w 600 9 || die "timed out waiting for $LOCAL_DIR/.lock"
  fi
}

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
