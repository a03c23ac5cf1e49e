#!/usr/bin/env bash
# The production stack on loopback, for tests and for trying production mode on one machine:
# PostgreSQL (MLflow's and Prefect's databases), moto's S3 server (the store and MLflow's artifacts),
# the MLflow tracking server (artifacts proxied to S3, basic-auth by default) and the Prefect server.
#
#   scripts/stack.sh up       start what is not running, wait until each service is healthy (idempotent)
#   scripts/stack.sh down     stop everything `up` started
#   scripts/stack.sh status   one line per service; exit 3 when any is down
#   scripts/stack.sh env      print the path of the client env file (never its contents: it holds secrets)
#   scripts/stack.sh purge    down, then delete the run directory (databases, secrets, logs)
#   scripts/stack.sh dump DB  pg_dump of one database (mlflow, mlflow_auth, prefect) to stdout, as SQL
#
# Clients load the env file with:  set -a; . "$(scripts/stack.sh env)"; set +a
#
# Settings (environment; not AIRWATCH_* because AirWatch refuses unknown AIRWATCH_* variables):
#   STACK_DIR (build/stack)  STACK_VENV (.venv)  STACK_TIMEOUT (120 s per service)
#   STACK_PG_PORT (15432)  STACK_S3_PORT (19000)  STACK_MLFLOW_PORT (15000)  STACK_PREFECT_PORT (14200)
#   STACK_BUCKET (airwatch)  STACK_MLFLOW_AUTH (1: basic-auth on; 0: off)  STACK_PREFECT_UI (0)
#   STACK_MLFLOW_ADMIN_USER (admin)  STACK_MLFLOW_ADMIN_PASSWORD (generated on the first `up`)
# The default ports lie below Linux's ephemeral range (32768+) so no outgoing connection holds one.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=$(realpath -m "${STACK_DIR:-$ROOT/build/stack}")
VENV_BIN=$(realpath -m "${STACK_VENV:-$ROOT/.venv}")/bin
TIMEOUT=${STACK_TIMEOUT:-120}
HOST=127.0.0.1
PG_PORT=${STACK_PG_PORT:-15432}
S3_PORT=${STACK_S3_PORT:-19000}
MLFLOW_PORT=${STACK_MLFLOW_PORT:-15000}
PREFECT_PORT=${STACK_PREFECT_PORT:-14200}
BUCKET=${STACK_BUCKET:-airwatch}
MLFLOW_AUTH=${STACK_MLFLOW_AUTH:-1}
PREFECT_UI=${STACK_PREFECT_UI:-0}
LOG_DIR=$RUN_DIR/logs
PID_DIR=$RUN_DIR/pids
SECRETS=$RUN_DIR/secrets.env
ENV_FILE=$RUN_DIR/env
# Everything written here (secrets, env file, auth config) is for this user only.
umask 077

die() { echo "stack: $*" >&2; exit 1; }
say() { echo "stack: $*"; }
is_root() { [[ $(id -u) == 0 ]]; }

# initdb and postgres refuse to run as root: as root they run as the postgres user.
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_bindir() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1; }

# PostgreSQL (server and contrib, which has pg_trgm) and curl (health checks) from Debian's
# packages, installed only when missing; quietly, with no prompt; sudo only when not root.
ensure_packages() {
  local missing=()
  [[ -n $(pg_bindir) ]] || missing+=(postgresql)
  command -v curl >/dev/null || missing+=(curl)
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]} (Debian packages)"
  local sudo=()
  is_root || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  [[ -n $(pg_bindir) ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin found"
}

# The cluster lives under the run dir, unless the postgres user cannot reach it there (a checkout
# under /root): then under /var/tmp, in a folder named after the run dir. `up` records the choice
# in pgdir, which `down` and `status` read.
pg_dir() {
  if [[ -s $RUN_DIR/pgdir ]]; then
    cat "$RUN_DIR/pgdir"
  elif is_root && [[ -d $RUN_DIR ]] && ! runuser -u postgres -- test -x "$RUN_DIR" 2>/dev/null; then
    echo "/var/tmp/airwatch-stack-$(printf '%s' "$RUN_DIR" | cksum | cut -d' ' -f1)"
  else
    echo "$RUN_DIR/pg"
  fi
}

# Secrets are generated once and kept in secrets.env (mode 600); they never reach argv or stdout.
load_secrets() {
  # The run dir (and any parent made here) can be traversed by the postgres user, not listed.
  (umask 022 && mkdir -p "$RUN_DIR")
  chmod 711 "$RUN_DIR"
  mkdir -p "$LOG_DIR" "$PID_DIR"
  if [[ ! -s $SECRETS ]]; then
    local gen='import secrets; print(secrets.token_hex(16))'
    {
      echo "PG_MLFLOW_PASSWORD=$("$VENV_BIN/python" -c "$gen")"
      echo "PG_PREFECT_PASSWORD=$("$VENV_BIN/python" -c "$gen")"
      echo "S3_ACCESS_KEY_ID=stack$("$VENV_BIN/python" -c 'import secrets; print(secrets.token_hex(6))')"
      echo "S3_SECRET_ACCESS_KEY=$("$VENV_BIN/python" -c "$gen")"
      echo "MLFLOW_ADMIN_USER=${STACK_MLFLOW_ADMIN_USER:-admin}"
      # MLflow wants 12+ characters; the admin is created with it on the first start only.
      echo "MLFLOW_ADMIN_PASSWORD=${STACK_MLFLOW_ADMIN_PASSWORD:-$("$VENV_BIN/python" -c "$gen")}"
      echo "MLFLOW_SECRET_KEY=$("$VENV_BIN/python" -c "$gen")"
    } >"$SECRETS.tmp"
    mv "$SECRETS.tmp" "$SECRETS"
  fi
  # shellcheck disable=SC1090
  . "$SECRETS"
}

# --- PostgreSQL ---------------------------------------------------------------------------------

PG_DIR=
PGDATA=

pg_running() { [[ -f $PGDATA/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

psql_admin() {
  # Over the cluster's own Unix socket (mode 700, trust): only its owner gets in, with no password.
  as_pg env PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -h "$PG_DIR/sock" -p "$PG_PORT" -U postgres -d "${1:-postgres}" -v ON_ERROR_STOP=1 -qAt
}

start_postgres() {
  PG_BIN=$(pg_bindir)
  if [[ ! -s $PGDATA/PG_VERSION ]]; then
    mkdir -p "$PG_DIR"
    is_root && chown postgres: "$PG_DIR"
    chmod 700 "$PG_DIR"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >"$LOG_DIR/initdb.log" 2>&1 ||
      die "initdb failed; see $LOG_DIR/initdb.log"
    as_pg mkdir -p "$PG_DIR/sock"
  fi
  ln -sfn "$PG_DIR/postgres.log" "$LOG_DIR/postgres.log"
  if pg_running; then
    say "postgres already running on $HOST:$PG_PORT"
  else
    port_free "$PG_PORT" postgres
    # Loopback only, its own socket folder, and commits that do not wait for the disk (a crash
    # loses the last few transactions, never consistency): Prefect's migrations run 3x faster.
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_DIR/postgres.log" -w -t "$TIMEOUT" \
      -o "-c listen_addresses=$HOST -c port=$PG_PORT -c unix_socket_directories=$PG_DIR/sock -c unix_socket_permissions=0700 -c synchronous_commit=off" \
      start >/dev/null || die "postgres did not start; see $LOG_DIR/postgres.log"
    say "postgres up on $HOST:$PG_PORT"
  fi
  # Roles, databases and pg_trgm (Prefect's search indexes); every statement is idempotent, and
  # the passwords go through stdin, not argv.
  psql_admin <<SQL
SELECT 'CREATE ROLE mlflow LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mlflow') \gexec
SELECT 'CREATE ROLE prefect LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'prefect') \gexec
ALTER ROLE mlflow WITH LOGIN PASSWORD '$PG_MLFLOW_PASSWORD';
ALTER ROLE prefect WITH LOGIN PASSWORD '$PG_PREFECT_PASSWORD';
SELECT 'CREATE DATABASE mlflow OWNER mlflow' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mlflow') \gexec
SELECT 'CREATE DATABASE mlflow_auth OWNER mlflow' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mlflow_auth') \gexec
SELECT 'CREATE DATABASE prefect OWNER prefect' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'prefect') \gexec
SQL
  echo 'CREATE EXTENSION IF NOT EXISTS pg_trgm;' | psql_admin prefect
}

stop_postgres() {
  PG_BIN=$(pg_bindir)
  [[ -n $PG_BIN && -d $PGDATA ]] || return 0
  if pg_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
    say "postgres stopped"
  fi
}

# --- processes started here: one process group each, its leader's pid in pids/NAME.pid ----------

pid_alive() {
  local pid
  [[ -s $PID_DIR/$1.pid ]] || return 1
  pid=$(<"$PID_DIR/$1.pid")
  kill -0 "$pid" 2>/dev/null
}

port_free() {
  if (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; then
    die "port $1 on $HOST is taken by another process, so $2 cannot start; choose another with STACK_*_PORT"
  fi
}

# start NAME COMMAND...: in its own session (setsid), so `down` can signal the whole group
# (uvicorn/gunicorn workers included) and a Ctrl-C in the calling shell does not reach it.
start() {
  local name=$1
  shift
  echo "=== $(date -Is) start" >>"$LOG_DIR/$name.log"
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$PID_DIR/$name.pid"
}

# wait_healthy NAME URL: poll until the URL answers 2xx; fail naming the service and its log.
wait_healthy() {
  local name=$1 url=$2 deadline=$((SECONDS + TIMEOUT))
  until curl -fsS -o /dev/null --max-time 3 "$url" 2>/dev/null; do
    if ! pid_alive "$name"; then
      tail -n 20 "$LOG_DIR/$name.log" >&2 || true
      die "$name exited during start-up; see $LOG_DIR/$name.log"
    fi
    ((SECONDS < deadline)) || die "$name not healthy at $url after ${TIMEOUT}s; see $LOG_DIR/$name.log"
    sleep 0.5
  done
}

stop() {
  local name=$1 pid i
  [[ -s $PID_DIR/$name.pid ]] || return 0
  pid=$(<"$PID_DIR/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    say "$name stopped"
  fi
  rm -f "$PID_DIR/$name.pid"
}

# The variables every server gets: telemetry off, S3 at moto with the stack's keys. Exported in a
# subshell around each start, never passed as `env VAR=...` arguments, so no secret shows in argv.
export_common_env() {
  export DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true PREFECT_SERVER_ANALYTICS_ENABLED=false \
    AWS_ENDPOINT_URL="http://$HOST:$S3_PORT" AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID" \
    AWS_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY" AWS_DEFAULT_REGION=us-east-1
}

# --- moto (S3) ----------------------------------------------------------------------------------

start_moto() {
  if pid_alive moto; then
    say "moto already running on $HOST:$S3_PORT"
  else
    port_free "$S3_PORT" moto
    (export_common_env && start moto "$VENV_BIN/python" -m moto.server -H "$HOST" -p "$S3_PORT")
    wait_healthy moto "http://$HOST:$S3_PORT/moto-api/"
    say "moto up on $HOST:$S3_PORT (objects live in its memory: \`down\` drops them)"
  fi
  (export_common_env && BUCKET=$BUCKET "$VENV_BIN/python" -) <<'PY' || die "could not create the bucket; see $LOG_DIR/moto.log"
import os

import boto3

s3 = boto3.client("s3")
if os.environ["BUCKET"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
    s3.create_bucket(Bucket=os.environ["BUCKET"])
PY
}

# --- MLflow -------------------------------------------------------------------------------------

export_mlflow_env() {
  export_common_env
  # psycopg2 (libpq) reads the password from PGPASSFILE, so the database URIs carry none.
  export MLFLOW_S3_ENDPOINT_URL="http://$HOST:$S3_PORT" PGPASSFILE="$RUN_DIR/mlflow/pgpass" \
    MLFLOW_AUTH_CONFIG_PATH="$RUN_DIR/mlflow/basic_auth.ini" MLFLOW_AUTH_ADMIN_USERNAME="$MLFLOW_ADMIN_USER" \
    MLFLOW_AUTH_ADMIN_PASSWORD="$MLFLOW_ADMIN_PASSWORD" MLFLOW_FLASK_SERVER_SECRET_KEY="$MLFLOW_SECRET_KEY"
}

start_mlflow() {
  local db="postgresql+psycopg2://mlflow@$HOST:$PG_PORT"
  local args=(--host "$HOST" --port "$MLFLOW_PORT" --workers 1 --backend-store-uri "$db/mlflow"
    --artifacts-destination "s3://$BUCKET/mlflow")
  [[ $MLFLOW_AUTH == 1 ]] && args+=(--app-name basic-auth)
  # A running server started with other arguments (auth switched on or off) is restarted.
  if pid_alive mlflow && [[ $(cat "$RUN_DIR/mlflow/args" 2>/dev/null) == "${args[*]}" ]]; then
    say "mlflow already running on $HOST:$MLFLOW_PORT"
    return
  fi
  stop mlflow
  port_free "$MLFLOW_PORT" mlflow
  mkdir -p "$RUN_DIR/mlflow"
  echo "$HOST:$PG_PORT:*:mlflow:$PG_MLFLOW_PASSWORD" >"$RUN_DIR/mlflow/pgpass"
  # basic-auth's own config: users in their own database; new experiments readable by all users.
  # The admin's name and password come from MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD (first start only).
  cat >"$RUN_DIR/mlflow/basic_auth.ini" <<INI
[mlflow]
default_permission = READ
database_uri = $db/mlflow_auth
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
INI
  (export_mlflow_env && "$VENV_BIN/mlflow" db upgrade "$db/mlflow") >>"$LOG_DIR/mlflow.log" 2>&1 ||
    die "mlflow db upgrade failed; see $LOG_DIR/mlflow.log"
  (export_mlflow_env && start mlflow "$VENV_BIN/mlflow" server "${args[@]}")
  echo "${args[*]}" >"$RUN_DIR/mlflow/args"
  wait_healthy mlflow "http://$HOST:$MLFLOW_PORT/health"
  say "mlflow up on $HOST:$MLFLOW_PORT (basic-auth: $([[ $MLFLOW_AUTH == 1 ]] && echo on || echo off))"
}

# --- Prefect ------------------------------------------------------------------------------------

start_prefect() {
  if pid_alive prefect; then
    say "prefect already running on $HOST:$PREFECT_PORT"
    return
  fi
  port_free "$PREFECT_PORT" prefect
  mkdir -p "$RUN_DIR/prefect/home"
  local ui=--no-ui
  [[ $PREFECT_UI == 1 ]] && ui=--ui
  # The connection URL (with its password) goes through the environment; the server migrates its
  # database on start.
  (
    export_common_env
    export PREFECT_HOME="$RUN_DIR/prefect/home" \
      PREFECT_SERVER_DATABASE_CONNECTION_URL="postgresql+asyncpg://prefect:$PG_PREFECT_PASSWORD@$HOST:$PG_PORT/prefect"
    start prefect "$VENV_BIN/prefect" server start --host "$HOST" --port "$PREFECT_PORT" --analytics-off "$ui"
  )
  wait_healthy prefect "http://$HOST:$PREFECT_PORT/api/health"
  say "prefect up on $HOST:$PREFECT_PORT"
}

# --- the client env file ------------------------------------------------------------------------

write_env() {
  local mlflow_user=
  [[ $MLFLOW_AUTH == 1 ]] && mlflow_user="MLFLOW_TRACKING_USERNAME=$MLFLOW_ADMIN_USER
MLFLOW_TRACKING_PASSWORD=$MLFLOW_ADMIN_PASSWORD"
  cat >"$ENV_FILE.tmp" <<ENV
# Written by scripts/stack.sh up. Load with: set -a; . $ENV_FILE; set +a
AIRWATCH_STORE=s3://$BUCKET/store
AIRWATCH_MLFLOW_TRACKING_URI=http://$HOST:$MLFLOW_PORT
AIRWATCH_PREFECT_API_URL=http://$HOST:$PREFECT_PORT/api
AWS_ENDPOINT_URL=http://$HOST:$S3_PORT
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY
AWS_DEFAULT_REGION=us-east-1
MLFLOW_TRACKING_URI=http://$HOST:$MLFLOW_PORT
$mlflow_user
PREFECT_API_URL=http://$HOST:$PREFECT_PORT/api
PREFECT_SERVER_EPHEMERAL_ENABLED=false
PREFECT_SERVER_ANALYTICS_ENABLED=false
MLFLOW_DISABLE_TELEMETRY=true
DO_NOT_TRACK=true
ENV
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# --- sub-commands -------------------------------------------------------------------------------

cmd_up() {
  [[ -x $VENV_BIN/python ]] || die "no Python environment at ${VENV_BIN%/bin}; run \`make setup\` first"
  ensure_packages
  local t0=$SECONDS
  load_secrets
  PG_DIR=$(pg_dir)
  PGDATA=$PG_DIR/data
  echo "$PG_DIR" >"$RUN_DIR/pgdir"
  start_postgres
  start_moto
  # MLflow and Prefect start side by side: each takes seconds of CPU on its own.
  start_mlflow &
  local mlflow_job=$!
  start_prefect || { wait "$mlflow_job" || true; exit 1; }
  wait "$mlflow_job" || exit 1
  write_env
  say "up in $((SECONDS - t0))s; client env: $ENV_FILE"
}

cmd_down() {
  stop prefect
  stop mlflow
  stop moto
  stop_postgres
  rm -f "$ENV_FILE"
}

cmd_status() {
  local down=0
  line() { printf '%-9s %-22s %s\n' "$1" "$2" "$3"; }
  if [[ -n $(pg_bindir) && -d $PGDATA ]] && PG_BIN=$(pg_bindir) && pg_running; then
    line postgres "$HOST:$PG_PORT" "up (data: $PGDATA)"
  else
    line postgres "$HOST:$PG_PORT" down
    down=1
  fi
  local name url
  for name in moto mlflow prefect; do
    case $name in
      moto) url="http://$HOST:$S3_PORT/moto-api/" ;;
      mlflow) url="http://$HOST:$MLFLOW_PORT/health" ;;
      prefect) url="http://$HOST:$PREFECT_PORT/api/health" ;;
    esac
    if pid_alive "$name" && curl -fsS -o /dev/null --max-time 3 "$url" 2>/dev/null; then
      line "$name" "${url#http://}" "up (pid $(<"$PID_DIR/$name.pid"), log: $LOG_DIR/$name.log)"
    else
      line "$name" "${url#http://}" down
      down=1
    fi
  done
  [[ -f $ENV_FILE ]] && echo "client env: $ENV_FILE"
  return $((down * 3))
}

# Over the cluster's own socket, like psql_admin: the tests search the dump for secrets.
cmd_dump() {
  local db=${1:-}
  [[ $db =~ ^(mlflow|mlflow_auth|prefect)$ ]] || die "usage: stack.sh dump mlflow|mlflow_auth|prefect"
  pg_running || die "postgres is not running"
  as_pg "$PG_BIN/pg_dump" -h "$PG_DIR/sock" -p "$PG_PORT" -U postgres --no-owner --no-privileges "$db"
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "no env file at $ENV_FILE; run \`scripts/stack.sh up\` first"
  echo "$ENV_FILE"
}

PG_DIR=$(pg_dir)
PGDATA=$PG_DIR/data
PG_BIN=$(pg_bindir)
case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  dump) cmd_dump "${2:-}" ;;
  purge)
    cmd_down
    rm -rf "$RUN_DIR" "$PG_DIR"
    say "removed $RUN_DIR"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
