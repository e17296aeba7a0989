#!/usr/bin/env bash
# A private PostgreSQL server for tests: installs Debian's `postgresql` if
# it is missing, starts a throwaway cluster on 127.0.0.1 on a free port, and
# prints its URL (with a random password) on standard output.
#
#   scripts/postgres.sh start DIR [--owner-pid PID]   # prints postgres://...
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh pause DIR      # stop the server, keep the cluster
#   scripts/postgres.sh resume DIR     # start it again, same port and password
#
# DIR is created (it must not hold a cluster already); with --owner-pid the
# cluster stops by itself once that process ends (a test binary's cluster).
# PostgreSQL refuses to run as root: as root, the cluster runs as the
# `postgres` user, which owns DIR.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

install() {
  if pg_bin >/dev/null; then return; fi
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and this is not root: run \`apt-get install -y postgresql\` as root"
  echo "postgres.sh: installing PostgreSQL (apt-get install postgresql)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends postgresql >&2 \
    || { apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2; } \
    || die "apt-get could not install postgresql"
  pg_bin >/dev/null || die "postgresql was installed but no pg_ctl was found under /usr/lib/postgresql"
}

# Run a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"; return
    fi
  done
  die "no free port found"
}

start() {
  local dir=$1 owner=${2:-}
  install
  local bin; bin=$(pg_bin)
  [ -e "$dir/data/PG_VERSION" ] && die "\`$dir\` holds a cluster already"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  local pwfile="$dir/pw"
  printf '%s\n' "$password" > "$pwfile"
  [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
  local user; user=$(as_owner id -un)
  as_owner "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"
  local port; port=$(free_port)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 \
    || { cat "$dir/server.log" >&2; die "the server did not start"; }
  if [ -n "$owner" ]; then
    # Stop the cluster once its owner (a test process) ends.
    ( while kill -0 "$owner" 2>/dev/null; do sleep 1; done
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
      rm -rf "$dir" ) </dev/null >/dev/null 2>&1 &
    disown
  fi
  echo "postgres://$user:$password@127.0.0.1:$port/postgres"
}

stop() {
  local dir=$1
  local bin; bin=$(pg_bin) || die "PostgreSQL is not installed"
  if [ -e "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$dir"
}

pause() {
  local bin; bin=$(pg_bin) || die "PostgreSQL is not installed"
  as_owner "$bin/pg_ctl" -D "$1/data" -m immediate -w stop >&2
}

resume() {
  local bin; bin=$(pg_bin) || die "PostgreSQL is not installed"
  # `restart` of a stopped server starts it with its last options
  # (postmaster.opts): the same port.
  as_owner "$bin/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 restart >&2
}

case "${1:-}" in
  start)
    [ $# -ge 2 ] || die "usage: postgres.sh start DIR [--owner-pid PID]"
    owner=""
    if [ "${3:-}" = "--owner-pid" ]; then owner=${4:?--owner-pid needs a pid}; fi
    start "$2" "$owner" ;;
  stop)
    [ $# -ge 2 ] || die "usage: postgres.sh stop DIR"
    stop "$2" ;;
  pause|resume)
    [ $# -ge 2 ] || die "usage: postgres.sh $1 DIR"
    "$1" "$2" ;;
  *) die "usage: postgres.sh start DIR [--owner-pid PID] | stop DIR | pause DIR | resume DIR" ;;
esac
