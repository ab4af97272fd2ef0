#!/bin/sh
# Entrypoint of hack/images/postgres.Dockerfile (the chart's history database): initdb into $PGDATA at the first
# start, then the server in the foreground on port 5432. The variables are the official postgres image's, read the
# same way, so the chart drives either image:
#   PGDATA                  data directory (default /var/lib/postgresql/data/pgdata), a subdirectory of the volume
#                           (a volume's root is not ours to chmod 0700)
#   POSTGRES_USER, POSTGRES_DB   the owner role and its database (default livestream, livestream)
#   POSTGRES_PASSWORD_FILE  the owner's password, a mounted file (never in argv or env)
# and one of ours:
#   LSO_POSTGRES_READONLY_USER, LSO_POSTGRES_READONLY_PASSWORD_FILE   a role that may only read (Grafana's); absent
#                           file: the role, if any, may no longer log in
# The superuser `postgres` has no password, so no one logs in as it over TCP (the only way in: no Unix socket). The
# passwords are applied at every start, in single-user mode through stdin, so a recreated Secret still matches the
# data and nothing secret reaches argv, env or the server log.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data/pgdata}
user=${POSTGRES_USER:-livestream}
db=${POSTGRES_DB:-$user}
pwfile=${POSTGRES_PASSWORD_FILE:-/etc/postgres/password}
ro_user=${LSO_POSTGRES_READONLY_USER:-}
ro_pwfile=${LSO_POSTGRES_READONLY_PASSWORD_FILE:-}

die() {
  echo "postgres-entrypoint: $*" >&2
  exit 1
}
ident() {
  case "$2" in
    postgres | '' | [!a-z_]* | *[!a-z0-9_]*) die "$1 must be a lower-case SQL name other than postgres, got '$2'" ;;
  esac
}
ident POSTGRES_USER "$user"
ident POSTGRES_DB "$db"
[ -z "$ro_user" ] || ident LSO_POSTGRES_READONLY_USER "$ro_user"
[ -r "$pwfile" ] || die "POSTGRES_PASSWORD_FILE: cannot read $pwfile"

# A password file's first line as an SQL literal's body (quotes doubled). sed reads the file: no password in argv.
literal() { sed -n "1{s/'/''/g;p;q}" "$1"; }

# SQL run by a single-user backend (stdin; -j: a statement ends with ";" and an empty line).
single() {
  postgres --single -j -D "$PGDATA" -c log_min_messages=warning "$1" >/dev/null
}

roles_sql() {
  pw=$(literal "$pwfile")
  [ -n "$pw" ] || die "POSTGRES_PASSWORD_FILE: $pwfile is empty"
  printf "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE %s; END IF; END\$\$;\n\n" "$user" "$user"
  printf "ALTER ROLE %s LOGIN PASSWORD '%s';\n\n" "$user" "$pw"
  [ -n "$ro_user" ] || return 0
  if [ -n "$ro_pwfile" ] && [ -r "$ro_pwfile" ]; then
    ro_pw=$(literal "$ro_pwfile")
    [ -n "$ro_pw" ] || die "LSO_POSTGRES_READONLY_PASSWORD_FILE: $ro_pwfile is empty"
    printf "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE %s; END IF; END\$\$;\n\n" "$ro_user" "$ro_user"
    printf "ALTER ROLE %s LOGIN PASSWORD '%s';\n\n" "$ro_user" "$ro_pw"
    # Reads every table, present and future (pg_read_all_data), and refuses to write even if granted more.
    printf "GRANT pg_read_all_data TO %s;\n\n" "$ro_user"
    printf "ALTER ROLE %s SET default_transaction_read_only = on;\n\n" "$ro_user"
  else
    printf "DO \$\$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN ALTER ROLE %s NOLOGIN; END IF; END\$\$;\n\n" "$ro_user" "$ro_user"
  fi
}

umask 077
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # Into a sibling first, renamed once complete: a start cut short leaves no half-made data directory behind.
  init="$PGDATA.initdb"
  rm -rf "$init"
  echo "postgres-entrypoint: initdb into $PGDATA" >&2
  # trust only until pg_hba.conf is replaced below, before the server listens (initdb wants a password otherwise).
  initdb -D "$init" -U postgres -E UTF8 --locale=C --auth=trust >/dev/null
  # Any address, password (scram) only; `postgres` has none, so it cannot log in here.
  cat >"$init/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS     METHOD
local   all       all               scram-sha-256
host    all       all   0.0.0.0/0   scram-sha-256
host    all       all   ::/0        scram-sha-256
EOF
  PGDATA=$init
  roles_sql | single postgres
  printf 'CREATE DATABASE %s OWNER %s;\n\n' "$db" "$user" | single postgres
  PGDATA=${init%.initdb}
  mv "$init" "$PGDATA"
else
  roles_sql | single postgres
fi

echo "postgres-entrypoint: starting the server on port 5432" >&2
exec postgres -D "$PGDATA" -c listen_addresses='*' -c port=5432 -c unix_socket_directories= \
  -c password_encryption=scram-sha-256 -c log_destination=stderr -c logging_collector=off "$@"
