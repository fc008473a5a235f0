# Shared by infra/local.sh (the single-node stack) and infra/cluster.sh (the replicated one):
# helpers, software checks, the PostgreSQL primary (both scripts run the same one), the Kafka
# jars and CLI tools, and topic creation. Sourced, never run; the caller sets -euo pipefail.
# shellcheck shell=bash disable=SC2034 # the constants are the callers'

INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROJECT_DIR=$(dirname "$INFRA_DIR")
LOCAL_DIR=${LREC_LOCAL_DIR:-$PROJECT_DIR/.local}

readonly HOST=127.0.0.1
readonly PG_PORT=55432
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
# Kafka jars and tools (the brokers themselves are started by local.sh or cluster.sh)

# The jar cache; local.sh also keeps its broker's state here.
KAFKA_DIR=$LOCAL_DIR/kafka

# The version pinned in pom.xml; jars are cached per version so switching back and forth
# (e.g. 4.x vs 3.9.x) never re-downloads. LREC_KAFKA_VERSION overrides for experiments.
kafka_version() {
  if [[ -n ${LREC_KAFKA_VERSION:-} ]]; then echo "$LREC_KAFKA_VERSION"; return; fi
  sed -n '/<kafka.version>/{s:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p;q}' "$INFRA_DIR/pom.xml"
}
KAFKA_VERSION=$(kafka_version)
[[ -n $KAFKA_VERSION ]] || die "cannot read <kafka.version> from $INFRA_DIR/pom.xml"
KAFKA_LIBS=$KAFKA_DIR/libs/$KAFKA_VERSION


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


# kcat answers in milliseconds; a TopicCommand JVM takes seconds, so use it only to create.
# kafka_topic_partitions <bootstrap servers> <topic>: the partition count, empty if no such topic.
kafka_topic_partitions() {
  local bootstrap=$1 topic=$2
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "$bootstrap" -L -t "$topic" -m 5 2>/dev/null |
      sed -n "/Unknown topic/d; s/^ *topic \"$topic\" with \([0-9]*\) partitions.*/\1/p"
  else
    # TopicCommand exits non-zero for a topic that does not exist yet: that is an empty answer
    # ("create it"), not a failure of `up` (set -e with pipefail would make it one).
    { kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
      --describe --topic "$topic" 2>/dev/null || true; } | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p'
  fi
}

# kafka_topics <bootstrap servers> <replication factor> <marker file> <meta.properties> <config...>
# Creates TOPICS with the given settings (TOPIC_CONFIG, plus whatever the caller's brokers need).
kafka_topics() {
  local bootstrap=$1 replication=$2 marker=$3 meta=$4; shift 4
  local spec name parts have entry create_config=() existing=()
  for entry in "$@"; do create_config+=(--config "$entry"); done
  for spec in "${TOPICS[@]}"; do
    name=${spec%%:*} parts=${spec##*:}
    have=$(kafka_topic_partitions "$bootstrap" "$name")
    if [[ -z $have ]]; then
      kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor "$replication" \
        "${create_config[@]}" >/dev/null
      log "kafka topic $name created ($parts partitions)"
    else
      existing+=("$name")
      [[ $have == "$parts" ]] || log "kafka topic $name has $have partitions, expected $parts (left as is)"
    fi
  done
  local config
  config=$(IFS=,; printf '%s' "$*")
  kafka_topic_config "$bootstrap" "$marker" "$meta" "$config" "${existing[@]}"
}

# Topics an older checkout created lack TOPIC_CONFIG: add it (altering is idempotent). A JVM costs
# seconds on every `up`, so a marker remembers the settings applied to this broker's data (by its
# cluster id: a reformatted broker gets them again).
# kafka_topic_config <bootstrap servers> <marker file> <meta.properties> <config,...> <topic...>
kafka_topic_config() {
  local bootstrap=$1 marker=$2 meta=$3 config=$4 cluster name; shift 4
  cluster=$(sed -n 's/^cluster\.id=//p' "$meta" 2>/dev/null || true)
  [[ -f $marker && $(<"$marker") == "$cluster $config" ]] && return
  for name in "$@"; do
    kafka_tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "$bootstrap" \
      --entity-type topics --entity-name "$name" --alter --add-config "$config" >/dev/null
    log "kafka topic $name set to $config"
  done
  printf '%s\n' "$cluster $config" >"$marker"
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

