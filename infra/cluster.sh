#!/usr/bin/env bash
# The production-shaped infrastructure of lambdarec on loopback, without Docker: the topology of
# docs/decisions/009-beyond-one-host.md, so that failover can be tested for real on one machine.
#
#   bash infra/cluster.sh up [kafka] [redis] [postgres]   (no component = all three)
#   bash infra/cluster.sh down [kafka] [redis] [postgres]
#   bash infra/cluster.sh status | env | reset
#   bash infra/cluster.sh kill <piece> | start <piece> | pid <piece>
#   bash infra/cluster.sh kafka-leaders <topic> | kafka-controller | redis-primaries
#
# Pieces: kafka-1 kafka-2 kafka-3, redis-<port>, postgres-standby.
#
# Topology (default ports; each list is overridable for tests, see below):
#   Kafka     3 KRaft nodes, each broker and controller: node ids 1-3, clients on 127.0.0.1:59092,
#             59093, 59094, controllers on 59192, 59193, 59194 (a static 3-voter quorum: the
#             voters never change, and a node SIGKILLed and restarted rejoins from its own log).
#             events.v1 and events.v1.dlq: 6 partitions, replication factor 3,
#             min.insync.replicas=2, plus lib/common.sh's TOPIC_CONFIG. With acks=all a write
#             survives any one broker, and one broker can be down without stopping producers.
#   Redis     Redis Cluster on 55001-55006: three primaries with one replica each (which node
#             gets which role is redis-cli --cluster create's choice). cluster-node-timeout is
#             2000 ms, so a dead primary's replica is promoted by the cluster itself within a few
#             seconds; a restarted old primary rejoins as a replica of its successor. appendonly
#             and noeviction as in local.sh (BullMQ must never lose keys).
#   Postgres  the primary is local.sh's (127.0.0.1:55432, same data, started by the same code in
#             lib/common.sh), plus a hot standby on 55433 made with pg_basebackup -R -X stream,
#             streaming from a physical replication slot, so that a standby that was down catches
#             up from the WAL the slot kept. Apps read from it through DATABASE_READ_URL.
#
# Choices worth knowing:
#   - cluster-require-full-coverage stays yes (the default). With "no", losing a primary and its
#     replica would leave a third of the key space unreachable while the rest keeps answering:
#     the speed layer would then update some users' sessions and silently drop others', and BullMQ
#     queues, whose keys live in one slot each, would fail one by one. We prefer the whole cluster
#     to refuse until the slots are covered again: readiness checks see it, and nothing drifts.
#   - cluster-allow-reads-when-down stays no (the default), for the same reason: a node of a
#     cluster that is down may be a primary cut off from the majority, already replaced by a
#     promoted replica that takes new writes. Serving from it would return data that is older
#     than what the rest of the system sees, without anybody noticing.
#   - The standby runs with hot_standby_feedback=on: serving's long read queries are not cancelled
#     by vacuum on the primary, at the price of the primary keeping dead rows a little longer.
#   - The replication slot is named after the standby's port (lrec_standby_<port>). `down` keeps
#     it, so a stopped standby can catch up later; that also means the primary keeps WAL for it
#     until `reset` drops it (reset also deletes the cluster's state). Do not leave a stopped
#     standby around for days: the primary's disk pays for it.
#   - `down postgres` stops the standby only. The primary belongs to the single-node stack as well
#     (npm run infra:down stops it); `up postgres` starts it if it is not running.
#   - The Redis cluster bus listens on port+10000, as Redis does by default, unless that is past
#     65535: then port-10000. Tests use ports below 22768, so that port+10000 stays under the
#     kernel's ephemeral range (32768 and up): an outgoing connection's local port once took a
#     bus port at 47006 and the node could not start.
#   - Brokers, Redis nodes and the standby are started detached (setsid / daemonize / pg_ctl) with
#     the lock descriptors closed, like local.sh's, so they outlive the caller.
#
# Environment (all optional):
#   LREC_CLUSTER_DIR               state (default $LREC_LOCAL_DIR or <project>/.local, + /cluster)
#   LREC_CLUSTER_KAFKA_PORTS       "59092 59093 59094"   (node ids 1, 2, 3 in this order)
#   LREC_CLUSTER_CONTROLLER_PORTS  "59192 59193 59194"
#   LREC_CLUSTER_REDIS_PORTS       "55001 55002 55003 55004 55005 55006"
#   LREC_CLUSTER_STANDBY_PORT      55433
#   LREC_CLUSTER_READY_TIMEOUT     seconds to wait for a piece (default 180: three JVMs, 2 cores)
# With other ports and another state dir the cluster runs beside the single-node stack of
# local.sh (it then shares its PostgreSQL primary). With the default ports the single-node Kafka
# (59092/59093) is in the way, and `up kafka` says so instead of touching it.
#
# `status` exits 3 when a piece is down. `up` ends only when every piece asked for is ready (all
# brokers registered and every partition's ISR full; cluster_state:ok on every Redis node and a
# replica for every primary; the standby in recovery and streaming) and prints the topology.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CLUSTER_DIR=$(realpath -m "${LREC_CLUSTER_DIR:-$LOCAL_DIR/cluster}")
read -r -a KAFKA_PORTS <<<"${LREC_CLUSTER_KAFKA_PORTS:-59092 59093 59094}"
read -r -a CONTROLLER_PORTS <<<"${LREC_CLUSTER_CONTROLLER_PORTS:-59192 59193 59194}"
read -r -a REDIS_PORTS <<<"${LREC_CLUSTER_REDIS_PORTS:-55001 55002 55003 55004 55005 55006}"
STANDBY_PORT=${LREC_CLUSTER_STANDBY_PORT:-55433}
CLUSTER_TIMEOUT=${LREC_CLUSTER_READY_TIMEOUT:-180}
readonly CLUSTER_DIR STANDBY_PORT CLUSTER_TIMEOUT
readonly SLOT=lrec_standby_$STANDBY_PORT
# Extra topic settings on top of TOPIC_CONFIG: the brokers' default, spelled out on the topic so
# that it holds whatever the broker config says.
readonly CLUSTER_TOPIC_CONFIG=("${TOPIC_CONFIG[@]}" min.insync.replicas=2)

((${#KAFKA_PORTS[@]} == 3)) || die "LREC_CLUSTER_KAFKA_PORTS must name 3 ports"
((${#CONTROLLER_PORTS[@]} == 3)) || die "LREC_CLUSTER_CONTROLLER_PORTS must name 3 ports"
((${#REDIS_PORTS[@]} >= 6 && ${#REDIS_PORTS[@]} % 2 == 0)) ||
  die "LREC_CLUSTER_REDIS_PORTS must name an even number of ports, at least 6 (a replica per primary)"
for _p in "${KAFKA_PORTS[@]}" "${CONTROLLER_PORTS[@]}" "${REDIS_PORTS[@]}" "$STANDBY_PORT"; do
  if ! [[ $_p =~ ^[0-9]+$ ]] || ((_p < 1 || _p > 65535)); then die "not a port: '$_p'"; fi
done
unset _p

elapsed() { printf '%ss' "$((SECONDS - $1))"; }

# ---------------------------------------------------------------------------------------
# Kafka

kafka_bootstrap() {
  local p list=()
  for p in "${KAFKA_PORTS[@]}"; do list+=("$HOST:$p"); done
  (IFS=,; printf '%s' "${list[*]}")
}
knode_dir() { printf '%s/kafka-%s' "$CLUSTER_DIR" "$1"; }
knode_port() { printf '%s' "${KAFKA_PORTS[$1 - 1]}"; }
knode_conf() { printf '%s/server.properties' "$(knode_dir "$1")"; }
knode_pid() { read_pid "$(knode_dir "$1")/kafka.pid"; }
# The config path is in the JVM's command line: it tells this cluster's broker apart from
# local.sh's and from another cluster dir's.
knode_alive() { local p; p=$(knode_pid "$1") && pid_matches "$p" "$(knode_conf "$1")"; }
knode_running() { knode_alive "$1" && port_open "$(knode_port "$1")"; }

kafka_voters() {
  local n list=()
  for n in 1 2 3; do list+=("$n@$HOST:${CONTROLLER_PORTS[$n - 1]}"); done
  (IFS=,; printf '%s' "${list[*]}")
}

# Says who holds a port we need, as precisely as we can.
kafka_port_check() {
  local port=$1 single
  port_open "$port" || return 0
  single=$(read_pid "$LOCAL_DIR/kafka/kafka.pid")
  if [[ -n $single ]] && pid_matches "$single" kafka.Kafka; then
    die "port $port is held by the single-node Kafka of infra/local.sh (pid $single). Stop it first (npm run infra:down), or give the cluster other ports (LREC_CLUSTER_KAFKA_PORTS, LREC_CLUSTER_CONTROLLER_PORTS)"
  fi
  die "port $port is taken by a process that is not this cluster's kafka (state: $CLUSTER_DIR); stop it, or give the cluster other ports (LREC_CLUSTER_KAFKA_PORTS, LREC_CLUSTER_CONTROLLER_PORTS)"
}

kafka_cluster_id() {
  local file=$CLUSTER_DIR/kafka-cluster-id
  [[ -s $file ]] || kafka_tool kafka.tools.StorageTool random-uuid >"$file"
  cat "$file"
}

# Renders the config and formats the storage of node $1 (once), then launches it detached.
knode_launch() {
  local n=$1 dir conf port cport
  dir=$(knode_dir "$n") conf=$(knode_conf "$n") port=$(knode_port "$n") cport=${CONTROLLER_PORTS[$n - 1]}
  kafka_port_check "$port"
  kafka_port_check "$cport"
  mkdir -p "$dir/data" "$dir/logs"
  sed -e "s|@NODE_ID@|$n|" -e "s|@PORT@|$port|" -e "s|@CONTROLLER_PORT@|$cport|" \
    -e "s|@VOTERS@|$(kafka_voters)|" -e "s|@LOG_DIRS@|$dir/data|" \
    "$INFRA_DIR/kafka/cluster-server.properties" >"$conf"
  if [[ ! -f $dir/data/meta.properties ]]; then
    kafka_tool kafka.tools.StorageTool format --cluster-id "$(kafka_cluster_id)" --config "$conf" \
      >"$dir/logs/format.log" 2>&1 ||
      { show_log_tail "$dir/logs/format.log"; die "kafka-$n: storage format failed"; }
  fi
  rm -f "$dir/kafka.pid"
  # As in local.sh: setsid so the broker outlives the caller, the wrapper's pid is the JVM's.
  # shellcheck disable=SC2016 # $$ and $1 belong to the inner shell
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$dir/kafka.pid" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dkafka.logs.dir="$dir/logs" \
    -Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$conf" \
    >"$dir/logs/stdout.log" 2>&1 </dev/null 8>&- 9>&- &
}

knode_ready() {
  local n=$1 dir
  dir=$(knode_dir "$n")
  [[ -s $dir/kafka.pid ]] || return 1
  if ! knode_alive "$n"; then
    printf 'infra: kafka-%s exited during startup\n' "$n" >&2
    show_log_tail "$dir/logs/server.log"
    show_log_tail "$dir/logs/stdout.log"
    exit 1
  fi
  port_open "$(knode_port "$n")" || return 1
  kcat -b "$HOST:$(knode_port "$n")" -L -m 2 >/dev/null 2>&1
}

# Metadata of the cluster, as kcat prints it (from whichever broker answers).
kafka_metadata() { kcat -b "$(kafka_bootstrap)" -L -m 3 "$@" 2>/dev/null; }

kafka_registered() {
  local want=$1 n
  n=$(kafka_metadata | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p')
  [[ $n == "$want" ]]
}

# Every partition of every topic has a leader and as many in-sync replicas as replicas.
kafka_isr_full() {
  local spec name lines
  for spec in "${TOPICS[@]}"; do
    name=${spec%%:*}
    lines=$(kafka_metadata -t "$name" | grep ' partition ') || return 1
    [[ -n $lines ]] || return 1
    # "partition 0, leader 1, replicas: 1,2,3, isrs: 2,3,1" (kcat adds ", Broker: …" on errors)
    awk '{
      leader = $4; sub(",", "", leader)
      split($0, a, "replicas: "); split(a[2], r, ", isrs: ")
      nr = split(r[1], x, ","); sub(/,? .*/, "", r[2]); ni = split(r[2], y, ",")
      if (leader < 0 || ni != nr || $0 ~ /Broker:/) bad = 1
    } END { exit bad }' <<<"$lines" || return 1
  done
}

kafka_wait_all_registered() {
  wait_for "$CLUSTER_TIMEOUT" "$(knode_dir 1)/logs/server.log" "kafka: 3 brokers registered" kafka_registered 3
}
kafka_wait_isr() {
  wait_for "$CLUSTER_TIMEOUT" "$(knode_dir 1)/logs/server.log" "kafka: full ISR on every partition" kafka_isr_full
}

# Starts the given nodes (in parallel: a JVM takes seconds to start on 2 cores) and waits.
knodes_start() {
  local n started=()
  for n in "$@"; do
    if knode_running "$n"; then
      log "kafka-$n already up on $HOST:$(knode_port "$n") (pid $(knode_pid "$n"))"
    else
      knode_launch "$n"
      started+=("$n")
    fi
  done
  for n in "${started[@]}"; do
    wait_for "$CLUSTER_TIMEOUT" "$(knode_dir "$n")/logs/server.log" "kafka-$n" knode_ready "$n"
    log "kafka-$n up on $HOST:$(knode_port "$n") (pid $(knode_pid "$n"), controller $HOST:${CONTROLLER_PORTS[$n - 1]})"
  done
}

kafka_cluster_up() {
  local t=$SECONDS
  mkdir -p "$CLUSTER_DIR"
  # The jar cache is local.sh's: fill it under local.sh's lock, as local.sh does.
  with_local_lock kafka_libs
  knodes_start 1 2 3
  kafka_wait_all_registered
  kafka_topics "$(kafka_bootstrap)" 3 "$CLUSTER_DIR/kafka-topic-config.applied" \
    "$(knode_dir 1)/data/meta.properties" "${CLUSTER_TOPIC_CONFIG[@]}"
  kafka_wait_isr
  log "kafka: 3 brokers, ISR full ($(elapsed "$t"))"
}

# Stops the given nodes together. One at a time would not do: the last node's controlled
# shutdown waits for a quorum that the earlier ones took away (and hangs until SIGKILL). Signalled
# together, every broker half shuts down while all three controllers are still there.
knodes_stop() {
  local n pid pids=() nodes=()
  for n in "$@"; do
    pid=$(knode_pid "$n")
    if [[ -z $pid ]] || ! knode_alive "$n"; then
      log "kafka-$n not running"
      continue
    fi
    kill -TERM "$pid"
    pids+=("$pid") nodes+=("$n")
  done
  for n in "${!pids[@]}"; do
    stop_wait "${pids[$n]}" "$(knode_conf "${nodes[$n]}")" 60
    rm -f "$(knode_dir "${nodes[$n]}")/kafka.pid"
    log "kafka-${nodes[$n]} stopped"
  done
}

kafka_cluster_down() { knodes_stop 1 2 3; }

# The node id of the active KRaft controller (the quorum leader), asked from the quorum itself.
kafka_controller() {
  kafka_tool org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server "$(kafka_bootstrap)" \
    describe --status 2>/dev/null | sed -n 's/^LeaderId: *\([0-9-]*\).*/\1/p'
}

# Cheap guess for `status` (no JVM): the quorum leader that a live node last wrote down.
kafka_controller_cached() {
  local n f best_epoch=-1 best=""
  for n in 1 2 3; do
    knode_alive "$n" || continue
    f=$(knode_dir "$n")/data/__cluster_metadata-0/quorum-state
    [[ -f $f ]] || continue
    local id epoch
    id=$(sed -n 's/.*"leaderId":\([0-9-]*\).*/\1/p' "$f")
    epoch=$(sed -n 's/.*"leaderEpoch":\([0-9]*\).*/\1/p' "$f")
    [[ -n $id && -n $epoch ]] || continue
    if ((epoch > best_epoch)); then best_epoch=$epoch best=$id; fi
  done
  printf '%s' "$best"
}

# partition leader-node-id, one line per partition
kafka_leaders() {
  local topic=$1 out
  out=$(kafka_metadata -t "$topic") || die "kafka: no broker answers"
  grep -q 'Unknown topic' <<<"$out" && die "kafka: no topic $topic"
  sed -n 's/^ *partition \([0-9]*\), leader \([0-9-]*\),.*/\1 \2/p' <<<"$out"
}

kafka_leader_counts() {
  kafka_metadata | sed -n 's/^ *partition [0-9]*, leader \([0-9-]*\),.*/\1/p' | sort | uniq -c
}

knode_status() {
  local n=$1 port counts count controller
  port=$(knode_port "$n")
  if knode_running "$n"; then
    counts=${2:-}
    count=$(awk -v n="$n" '$2 == n { print $1 }' <<<"$counts")
    controller=""
    [[ ${3:-} == "$n" ]] && controller=", active controller"
    printf '%-17s up    %s:%-5s  pid %-7s leader of %s partitions%s\n' \
      "kafka-$n" "$HOST" "$port" "$(knode_pid "$n")" "${count:-0}" "$controller"
  else
    printf '%-17s down  %s:%s\n' "kafka-$n" "$HOST" "$port"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------
# Redis Cluster

rnode_dir() { printf '%s/redis-%s' "$CLUSTER_DIR" "$1"; }
rnode_pid() { read_pid "$(rnode_dir "$1")/redis.pid"; }
# redis-server's command line shows only its address, so the port tells ours from a stranger
# on the same port only together with the pidfile in our state dir.
rnode_alive() { local p; p=$(rnode_pid "$1") && pid_matches "$p" "redis-server $HOST:$1"; }
rnode_running() { rnode_alive "$1" && port_open "$1"; }
rcli() { local port=$1; shift; redis-cli -h "$HOST" -p "$port" "$@"; }
bus_port() { if (($1 + 10000 <= 65535)); then echo $(($1 + 10000)); else echo $(($1 - 10000)); fi; }
rnode_info() { rcli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }

rnode_launch() {
  local port=$1 dir bus
  dir=$(rnode_dir "$port") bus=$(bus_port "$port")
  if port_open "$port" || port_open "$bus"; then
    die "port $port or its cluster bus port $bus is taken by a process that is not this cluster's redis (state: $CLUSTER_DIR); stop it, or give the cluster other ports (LREC_CLUSTER_REDIS_PORTS)"
  fi
  mkdir -p "$dir/data"
  # nodes.conf (the node's identity, epoch and view of the cluster) lives next to its AOF, so a
  # restarted node comes back as the same node and rejoins on its own.
  redis-server --port "$port" --bind "$HOST" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-port "$bus" \
    --cluster-node-timeout 2000 \
    --cluster-require-full-coverage yes --cluster-allow-reads-when-down no \
    --appendonly yes --maxmemory-policy noeviction \
    --daemonize yes --dir "$dir/data" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" 8>&- 9>&- ||
    { show_log_tail "$dir/redis.log"; die "redis-$port failed to start"; }
}

rnode_ping() { [[ $(rcli "$1" ping 2>/dev/null) == PONG ]]; }

rnodes_start() {
  local port started=()
  for port in "$@"; do
    if rnode_running "$port"; then
      log "redis-$port already up (pid $(rnode_pid "$port"))"
    else
      rnode_launch "$port"
      started+=("$port")
    fi
  done
  for port in "${started[@]}"; do
    wait_for "$CLUSTER_TIMEOUT" "$(rnode_dir "$port")/redis.log" "redis-$port" rnode_ping "$port"
    log "redis-$port up (pid $(rnode_pid "$port"), bus $(bus_port "$port"))"
  done
}

# A node that has never joined a cluster: it knows only itself and serves no slot.
rnode_blank() { [[ $(rnode_info "$1" cluster_known_nodes) == 1 && $(rnode_info "$1" cluster_slots_assigned) == 0 ]]; }

redis_form() {
  local port blank=() formed=()
  for port in "${REDIS_PORTS[@]}"; do
    if rnode_blank "$port"; then blank+=("$port"); else formed+=("$port"); fi
  done
  if ((${#formed[@]} == 0)); then
    local addrs=()
    for port in "${REDIS_PORTS[@]}"; do addrs+=("$HOST:$port"); done
    log "redis: creating the cluster (${#REDIS_PORTS[@]} nodes, one replica per primary) ..."
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$CLUSTER_DIR/redis-create.log" 2>&1 ||
      { show_log_tail "$CLUSTER_DIR/redis-create.log"; die "redis-cli --cluster create failed"; }
    return
  fi
  # A node whose state was lost (a deleted dir) joins the existing cluster as a replica of the
  # primary with the fewest replicas; the cluster is never created a second time.
  local ghost other
  for port in "${blank[@]}"; do
    log "redis-$port: blank node, adding it to the cluster as a replica"
    # The node it replaces is still known, failed: under the same address, or with no address
    # once the others reached the blank node there and saw another id. Forget it everywhere, or
    # the cluster would count a member that never comes back. (Never a node that serves slots.)
    for ghost in $(rcli "${formed[0]}" cluster nodes | tr -d '\r' |
      awk -v a="$HOST:$port@" '(index($2, a) == 1 || $3 ~ /noaddr/) && $3 !~ /myself/ && NF <= 8 { print $1 }'); do
      for other in "${formed[@]}"; do rcli "$other" cluster forget "$ghost" >/dev/null 2>&1 || true; done
    done
    redis-cli --cluster add-node "$HOST:$port" "$HOST:${formed[0]}" --cluster-slave \
      >>"$CLUSTER_DIR/redis-create.log" 2>&1 ||
      { show_log_tail "$CLUSTER_DIR/redis-create.log"; die "redis: could not add $port to the cluster"; }
  done
}

# CLUSTER NODES from the first node that answers.
redis_nodes() {
  local port out
  for port in "${REDIS_PORTS[@]}"; do
    if out=$(rcli "$port" cluster nodes 2>/dev/null) && [[ -n $out && $out != *ERR* ]]; then
      tr -d '\r' <<<"$out"
      return
    fi
  done
  return 1
}

# Every node reports cluster_state:ok and knows all the others; every replica is in sync with
# its primary; every primary has a connected replica that is not failing.
redis_cluster_ready() {
  local port nodes
  for port in "${REDIS_PORTS[@]}"; do
    [[ $(rnode_info "$port" cluster_state) == ok ]] || return 1
    [[ $(rnode_info "$port" cluster_known_nodes) == "${#REDIS_PORTS[@]}" ]] || return 1
  done
  # A replica that has not finished its first sync would have nothing to be promoted with.
  for port in "${REDIS_PORTS[@]}"; do
    [[ $(rcli "$port" role 2>/dev/null | head -n1 | tr -d '\r') != slave ]] ||
      rcli "$port" info replication 2>/dev/null | grep -q '^master_link_status:up' || return 1
  done
  nodes=$(redis_nodes) || return 1
  awk '
    $3 ~ /fail/ || $8 != "connected" { bad = 1 }
    $3 ~ /master/ && NF > 8 { primary[$1] = 1 }
    $3 ~ /slave/ { replicas[$4]++ }
    END { for (id in primary) if (!replicas[id]) bad = 1; exit bad }' <<<"$nodes"
}

redis_wait_ready() {
  wait_for "$CLUSTER_TIMEOUT" "$(rnode_dir "${REDIS_PORTS[0]}")/redis.log" "redis cluster (cluster_state:ok, a replica per primary)" redis_cluster_ready
}

redis_cluster_up() {
  local t=$SECONDS
  mkdir -p "$CLUSTER_DIR"
  rnodes_start "${REDIS_PORTS[@]}"
  redis_form
  redis_wait_ready
  log "redis: cluster ok ($(elapsed "$t"))"
}

rnode_stop() {
  local port=$1 pid
  pid=$(rnode_pid "$port")
  if [[ -z $pid ]] || ! rnode_alive "$port"; then
    log "redis-$port not running"
    return
  fi
  # SIGTERM = SHUTDOWN (flushes the AOF, saves nodes.conf); by pid, never by port.
  kill -TERM "$pid"
  stop_wait "$pid" "redis-server $HOST:$port" 30
  log "redis-$port stopped"
}

redis_cluster_down() {
  local port
  for port in "${REDIS_PORTS[@]}"; do rnode_stop "$port"; done
}

# Ports of the primaries that serve slots, as the cluster sees them now.
redis_primaries() {
  redis_nodes | awk '$3 ~ /master/ && $3 !~ /fail/ && NF > 8 { split($2, a, "[:@]"); print a[2] }' | sort -n
}

rnode_status() {
  local port=$1 role
  if rnode_running "$port"; then
    role=$(rcli "$port" role 2>/dev/null | head -n1 | tr -d '\r')
    case $role in
      master) role=primary ;;
      slave) role="replica of $(rcli "$port" info replication 2>/dev/null | tr -d '\r' | sed -n 's/^master_port://p')" ;;
    esac
    printf '%-17s up    %s:%-5s  pid %-7s %s, cluster_state:%s\n' "redis-$port" "$HOST" "$port" \
      "$(rnode_pid "$port")" "$role" "$(rnode_info "$port" cluster_state)"
  else
    printf '%-17s down  %s:%s\n' "redis-$port" "$HOST" "$port"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL standby (the primary is local.sh's: pg_up & co in lib/common.sh)

standby_paths() {
  # Same reasoning as pg_paths: as root the standby belongs to `postgres`, which must be able to
  # reach its data dir; if it cannot enter the cluster dir, use a folder of its own under /tmp.
  SB_BASE=$CLUSTER_DIR/postgres-standby
  if is_root && id postgres >/dev/null 2>&1 && ! as_pg test -x "$CLUSTER_DIR"; then
    local hash
    hash=$(printf '%s' "$CLUSTER_DIR" | sha1sum | cut -c1-12)
    SB_BASE=/tmp/lambdarec-$hash/postgres-standby
  fi
  SB_DATA=$SB_BASE/data
  SB_SOCK=$SB_BASE/run
  SB_LOG=$SB_BASE/postgres.log
}

sb_pid() { [[ -f $SB_DATA/postmaster.pid ]] && read_pid "$SB_DATA/postmaster.pid"; }
sb_alive() { local p; p=$(sb_pid) && pid_matches "$p" "$SB_DATA"; }
sb_running() { sb_alive && port_open "$STANDBY_PORT"; }
sb_sql() { as_pg "$(pg_bin_dir)/psql" -h "$SB_SOCK" -p "$STANDBY_PORT" -U "$PG_USER" -d postgres -tAq -c "$1" 2>/dev/null; }
primary_sql() { as_pg "$(pg_bin_dir)/psql" -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAq -c "$1"; }

# In recovery and receiving WAL from the primary.
sb_streaming() { [[ $(sb_sql "select pg_is_in_recovery() and exists (select 1 from pg_stat_wal_receiver where status = 'streaming')") == t ]]; }

sb_start() {
  local bin
  bin=$(pg_bin_dir)
  port_open "$STANDBY_PORT" &&
    die "port $STANDBY_PORT is taken by a process that is not this cluster's standby (data: $SB_DATA); stop it, or use LREC_CLUSTER_STANDBY_PORT"
  mkdir -p "$SB_SOCK"
  if is_root; then chown postgres:postgres "$SB_SOCK"; fi
  # max_connections must be at least the primary's (200, see pg_up) or a hot standby refuses to
  # start. cluster_name becomes the walreceiver's application_name in pg_stat_replication.
  as_pg "$bin/pg_ctl" start -D "$SB_DATA" -l "$SB_LOG" -w -t "$CLUSTER_TIMEOUT" -s \
    -o "-p $STANDBY_PORT -c listen_addresses=$HOST -k '$SB_SOCK' -c max_connections=200 -c hot_standby=on -c hot_standby_feedback=on -c cluster_name=lrec-standby-$STANDBY_PORT" \
    >/dev/null 2>"$SB_BASE/pg_ctl.log" 8>&- 9>&- ||
    { show_log_tail "$SB_BASE/pg_ctl.log"; show_log_tail "$SB_LOG"; die "postgres standby failed to start (log: $SB_LOG)"; }
  sb_wait_caught_up
}

# Streaming, and replayed everything the primary had written when we started waiting: a
# standby that was down is only useful to readers once it has caught up.
sb_wait_caught_up() {
  local target
  target=$(primary_sql "select pg_current_wal_lsn()")
  wait_for "$CLUSTER_TIMEOUT" "$SB_LOG" "postgres standby (streaming from the primary)" sb_streaming
  wait_for "$CLUSTER_TIMEOUT" "$SB_LOG" "postgres standby (replayed up to the primary's $target)" sb_replayed "$target"
}
sb_replayed() { [[ $(sb_sql "select pg_last_wal_replay_lsn() >= '$1'::pg_lsn") == t ]]; }

standby_up() {
  local t=$SECONDS
  # The primary: local.sh's, under local.sh's lock, by the same function.
  with_local_lock pg_up
  standby_paths
  if sb_running; then
    log "postgres-standby already up on $HOST:$STANDBY_PORT (pid $(sb_pid))"
    sb_wait_caught_up
    return
  fi
  local bin
  bin=$(pg_bin_dir)
  # The slot first, so no WAL the standby needs is recycled between the backup and the start.
  if [[ $(primary_sql "select 1 from pg_replication_slots where slot_name = '$SLOT'") != 1 ]]; then
    primary_sql "select pg_create_physical_replication_slot('$SLOT')" >/dev/null
    log "postgres: replication slot $SLOT created on the primary"
  fi
  if [[ ! -f $SB_DATA/PG_VERSION ]]; then
    rm -rf "$SB_DATA"
    mkdir -p "$SB_BASE"
    chmod 755 "$(dirname "$SB_BASE")"
    if is_root; then chown postgres:postgres "$SB_BASE"; fi
    chmod 700 "$SB_BASE"
    log "postgres-standby: pg_basebackup from $HOST:$PG_PORT ..."
    # Over TCP with the password, like a standby on another host; -R writes primary_conninfo
    # (with that password) and primary_slot_name, and creates standby.signal.
    as_pg env PGPASSWORD="$PG_PASSWORD" "$bin/pg_basebackup" -h "$HOST" -p "$PG_PORT" -U "$PG_USER" \
      -D "$SB_DATA" -R -X stream -S "$SLOT" -c fast >"$SB_BASE/basebackup.log" 2>&1 ||
      { rm -rf "$SB_DATA"; show_log_tail "$SB_BASE/basebackup.log"; die "pg_basebackup failed"; }
  fi
  sb_start
  log "postgres-standby up on $HOST:$STANDBY_PORT (pid $(sb_pid), slot $SLOT, $(elapsed "$t"))"
}

standby_down() {
  standby_paths
  if ! sb_alive; then
    log "postgres-standby not running"
    return
  fi
  as_pg "$(pg_bin_dir)/pg_ctl" stop -D "$SB_DATA" -m fast -w -t 60 -s
  log "postgres-standby stopped"
}

standby_status() {
  standby_paths
  if sb_running; then
    local lag
    lag=$(sb_sql "select coalesce(pg_size_pretty(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())), '?') || ' replay lag, ' || coalesce((select status from pg_stat_wal_receiver), 'no walreceiver')")
    printf '%-17s up    %s:%-5s  pid %-7s standby of %s (%s)\n' postgres-standby "$HOST" "$STANDBY_PORT" \
      "$(sb_pid)" "$PG_PORT" "${lag:-?}"
  else
    printf '%-17s down  %s:%s\n' postgres-standby "$HOST" "$STANDBY_PORT"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------

# The cluster's own lock (fd 8), separate from local.sh's (fd 9) so that `up postgres` can take
# both. Every daemon started here closes both descriptors.
take_cluster_lock() {
  mkdir -p "$CLUSTER_DIR"
  chmod 755 "$CLUSTER_DIR"
  exec 8>"$CLUSTER_DIR/.lock"
  if ! flock -n 8; then
    log "waiting for another infra/cluster.sh to finish ..."
    flock -w 600 8 || die "timed out waiting for $CLUSTER_DIR/.lock"
  fi
}

# Runs a function of lib/common.sh under local.sh's lock, in a subshell without fd 8: what it
# starts (the primary) must not inherit the cluster's lock.
with_local_lock() { (exec 8>&-; take_lock; pg_paths; "$@"); }

# up/down take component names; none means all three.
components() {
  local c
  if (($# == 0)); then set -- kafka redis postgres; fi
  for c in "$@"; do
    case $c in kafka | redis | postgres) ;; *) die "unknown component '$c' (kafka, redis, postgres)" ;; esac
  done
  printf '%s\n' "$@"
}

cmd_env() {
  local p redis=()
  for p in "${REDIS_PORTS[@]}"; do redis+=("$HOST:$p"); done
  printf 'DATABASE_URL=postgres://%s:%s@%s:%s/%s\n' "$PG_USER" "$PG_PASSWORD" "$HOST" "$PG_PORT" "$PG_DB"
  printf 'DATABASE_READ_URL=postgres://%s:%s@%s:%s/%s\n' "$PG_USER" "$PG_PASSWORD" "$HOST" "$STANDBY_PORT" "$PG_DB"
  printf 'REDIS_CLUSTER_NODES=%s\n' "$(IFS=,; printf '%s' "${redis[*]}")"
  printf 'KAFKA_BROKERS=%s\n' "$(kafka_bootstrap)"
}

print_topology() {
  local want=" $* "
  log "--- topology ---"
  if [[ $want == *" kafka "* ]]; then
    log "kafka    brokers $(kafka_bootstrap) (node ids 1 2 3), active controller: node $(kafka_controller)"
    local spec
    for spec in "${TOPICS[@]}"; do
      log "         ${spec%%:*}: leaders (partition leader) $(kafka_leaders "${spec%%:*}" | paste -sd, | sed 's/,/, /g')"
    done
  fi
  if [[ $want == *" redis "* ]]; then
    local nodes
    nodes=$(redis_nodes)
    awk '$3 ~ /master/ && NF > 8 { split($2, a, "[:@]"); port[$1] = a[2]; slots[$1] = $9 }
      $3 ~ /slave/ { split($2, a, "[:@]"); rep[$4] = rep[$4] " " a[2] }
      END { for (id in port) printf "redis    primary %s (slots %s), replica%s\n", port[id], slots[id], rep[id] }' <<<"$nodes" | sort
  fi
  if [[ $want == *" postgres "* ]]; then
    log "postgres primary $HOST:$PG_PORT, hot standby $HOST:$STANDBY_PORT (slot $SLOT)"
  fi
}

cmd_up() {
  local start=$SECONDS need_mvn=0 list
  list=$(components "$@")
  [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] || need_mvn=1
  ensure_software "$need_mvn"
  take_cluster_lock
  pg_paths
  # Kafka first: its JVMs take longest, and any port conflict should show before other work.
  if grep -qx kafka <<<"$list"; then kafka_cluster_up; fi
  if grep -qx redis <<<"$list"; then redis_cluster_up; fi
  if grep -qx postgres <<<"$list"; then standby_up; fi
  # shellcheck disable=SC2086 # one word per component
  print_topology $list
  log "cluster up in $((SECONDS - start))s (state: $CLUSTER_DIR)"
}

cmd_down() {
  local list
  list=$(components "$@")
  take_cluster_lock
  pg_paths
  if grep -qx postgres <<<"$list"; then standby_down; fi
  if grep -qx redis <<<"$list"; then redis_cluster_down; fi
  if grep -qx kafka <<<"$list"; then kafka_cluster_down; fi
}

cmd_status() {
  pg_paths
  local rc=0 n port counts="" controller=""
  if kafka_metadata >/dev/null; then
    counts=$(kafka_leader_counts)
    controller=$(kafka_controller_cached)
  fi
  for n in 1 2 3; do knode_status "$n" "$counts" "$controller" || rc=3; done
  for port in "${REDIS_PORTS[@]}"; do rnode_status "$port" || rc=3; done
  if pg_running; then
    printf '%-17s up    %s:%-5s  pid %-7s primary (local.sh)\n' postgres "$HOST" "$PG_PORT" "$(pg_pid)"
  else
    printf '%-17s down  %s:%s  (local.sh)\n' postgres "$HOST" "$PG_PORT"
    rc=3
  fi
  standby_status || rc=3
  return "$rc"
}

# Piece name -> kind and argument: kafka <n>, redis <port>, standby -.
parse_piece() {
  local piece=${1:-}
  case $piece in
    kafka-[123]) PIECE_KIND=kafka PIECE_ARG=${piece#kafka-} ;;
    redis-*)
      PIECE_KIND=redis PIECE_ARG=${piece#redis-}
      [[ " ${REDIS_PORTS[*]} " == *" $PIECE_ARG "* ]] || die "no such redis node: $piece (ports: ${REDIS_PORTS[*]})"
      ;;
    postgres-standby) PIECE_KIND=standby PIECE_ARG=- ;;
    *) die "unknown piece '$piece' (kafka-1 kafka-2 kafka-3, redis-<port>, postgres-standby)" ;;
  esac
}

piece_pid() {
  case $PIECE_KIND in
    kafka) knode_alive "$PIECE_ARG" && knode_pid "$PIECE_ARG" ;;
    redis) rnode_alive "$PIECE_ARG" && rnode_pid "$PIECE_ARG" ;;
    standby) standby_paths && sb_alive && sb_pid ;;
  esac
}

cmd_pid() {
  parse_piece "${1:-}"
  pg_paths
  local pid
  pid=$(piece_pid) || die "$1 is not running"
  printf '%s\n' "$pid"
}

# Fault injection: SIGKILL, no goodbye. The state stays for `start`.
cmd_kill() {
  parse_piece "${1:-}"
  take_cluster_lock
  pg_paths
  local pid
  pid=$(piece_pid) || die "$1 is not running"
  kill -KILL "$pid"
  # Wait until it is gone, so that the caller's next step sees a dead piece.
  local deadline=$((SECONDS + 10))
  while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.1; done
  log "$1 killed (pid $pid)"
}

# Brings one piece back with its data, and waits until it is part of the cluster again.
cmd_start() {
  parse_piece "${1:-}"
  local t=$SECONDS
  take_cluster_lock
  pg_paths
  case $PIECE_KIND in
    kafka)
      with_local_lock kafka_libs
      knodes_start "$PIECE_ARG"
      kafka_wait_all_registered
      kafka_wait_isr
      log "kafka-$PIECE_ARG back, ISR full ($(elapsed "$t"))"
      ;;
    redis)
      rnodes_start "$PIECE_ARG"
      redis_wait_ready
      log "redis-$PIECE_ARG back: $(rcli "$PIECE_ARG" role | head -n1 | tr -d '\r'), cluster ok ($(elapsed "$t"))"
      ;;
    standby)
      standby_paths
      [[ -f $SB_DATA/PG_VERSION ]] || die "postgres-standby has no data yet: use up postgres"
      standby_up
      ;;
  esac
}

# Stops everything and deletes the state, including the standby's slot on the primary.
cmd_reset() {
  cmd_down
  pg_paths
  if pg_running; then
    if [[ $(primary_sql "select 1 from pg_replication_slots where slot_name = '$SLOT'") == 1 ]]; then
      primary_sql "select pg_drop_replication_slot('$SLOT')" >/dev/null
      log "postgres: replication slot $SLOT dropped"
    fi
  else
    log "postgres primary not running: drop the slot $SLOT yourself later (it keeps WAL), or run reset again with the primary up"
  fi
  standby_paths
  [[ $SB_BASE == /tmp/lambdarec-* ]] && rm -rf "$(dirname "$SB_BASE")"
  rm -rf "$CLUSTER_DIR"
  log "cluster state removed ($CLUSTER_DIR)"
}

cmd=${1:-}
(($# > 0)) && shift
case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  reset) cmd_reset ;;
  kill) cmd_kill "$@" ;;
  start) cmd_start "$@" ;;
  pid) cmd_pid "$@" ;;
  kafka-leaders)
    (($# == 1)) || die "usage: kafka-leaders <topic>"
    kafka_leaders "$1"
    ;;
  kafka-controller)
    id=$(kafka_controller)
    [[ -n $id && $id != -1 ]] || die "kafka: no active controller (is the cluster up?)"
    printf '%s\n' "$id"
    ;;
  redis-primaries) redis_primaries || die "redis: no node answers" ;;
  *)
    printf 'usage: %s up|down [kafka] [redis] [postgres] | status | env | reset | kill|start|pid <piece> | kafka-leaders <topic> | kafka-controller | redis-primaries\n' "$0" >&2
    exit 2
    ;;
esac
