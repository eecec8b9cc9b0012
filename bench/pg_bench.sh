#!/usr/bin/env bash
# The PostgreSQL figures of scripts/bench.sh: a private server (initdb in DIR, unix socket
# only; as the `postgres` user when run as root), one table of ROWS rows (about 170 bytes
# each, so 4,000,000 rows make about 700 MB), the native tools with their default settings,
# then backout's postgres adapter on the same table. Prints `name value` lines; the server
# is stopped on exit.
#
#   bench/pg_bench.sh DIR ROWS BACKOUT JOURNAL
set -euo pipefail
dir=${1:?usage: pg_bench.sh DIR ROWS BACKOUT JOURNAL}
rows=${2:?} backout=${3:?} journal=${4:?}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z $bin || ! -x $bin/initdb ]]; then
  echo "bench: no PostgreSQL server binaries (initdb); skipping PostgreSQL" >&2
  echo "pg_missing 1"
  exit 0
fi

rm -rf "$dir"
mkdir -p "$dir/socket"
as_pg=()
if ((EUID == 0)); then
  chown -R postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi
port=$((50000 + $$ % 10000))
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log"
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start \
  -o "-c listen_addresses='' -k $dir/socket -p $port" >/dev/null
trap '"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true' EXIT

export PGHOST=$dir/socket PGPORT=$port PGUSER=postgres PGDATABASE=postgres
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

seconds() {  # seconds NAME CMD...: prints "NAME wall-seconds"
  local name=$1 start
  shift
  start=$(date +%s%N)
  "$@" >"$dir/$name.log" 2>&1 || { echo "bench: $name failed; see $dir/$name.log" >&2; return 1; }
  awk -v n="$name" -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%s %.3f\n", n, (b - a) / 1e9 }'
}

psql <<SQL
CREATE TABLE items (
  id bigint PRIMARY KEY, owner_id int NOT NULL, name text NOT NULL, payload text NOT NULL,
  amount numeric(12, 2) NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO items
SELECT i, i % 5000, 'item-' || i, repeat(md5(i::text), 3), (i % 100000) / 100.0,
       timestamptz '2026-01-01' + i * interval '1 second'
FROM generate_series(1, $rows) AS i;
VACUUM ANALYZE items;
SQL
echo "pg_table_bytes $(psql -At -c "SELECT pg_table_size('items')")"
echo "pg_rows $rows"

# The peers, with their default settings.
seconds pg_dump_s pg_dump -Fc -t items -f "$dir/items.dump"
seconds pg_restore_s pg_restore --clean --if-exists -d postgres "$dir/items.dump"
psql -c "VACUUM ANALYZE items"
seconds pg_md5_string_agg_s psql -At -c "SELECT md5(string_agg(t::text, '' ORDER BY id)) FROM items t"
seconds pg_copy_to_s sh -c "psql -c 'COPY items TO STDOUT (FORMAT binary)' > /dev/null"

# The floor of a table restore on this server: what backout's restore asks of it, done by
# psql with nothing around it. One transaction: TRUNCATE, the primary key dropped, COPY ...
# FROM STDIN (FORMAT binary, FREEZE) of the table's binary COPY stream (psql's \copy sends
# it through the client connection, as backout does), the key built again, COMMIT.
psql -c "\\copy items TO '$dir/items.copy' (FORMAT binary)"
restore_floor() {
  psql <<SQL
BEGIN;
TRUNCATE items;
ALTER TABLE items DROP CONSTRAINT items_pkey;
\\copy items FROM '$dir/items.copy' (FORMAT binary, FREEZE)
ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY (id);
COMMIT;
SQL
}
seconds pg_restore_floor_s restore_floor
echo "pg_wal_level $(psql -At -c 'SHOW wal_level')"

# Ours, once the postgres adapter is in this build.
dsn="host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
cat >"$dir/backup.yaml" <<YAML
version: 1
name: bench-pg-backup
targets:
  pg: { type: postgres, dsn: "$dsn" }
steps:
  - id: backup
    backup: { target: pg, to: $dir/ours/, tables: [items] }
YAML
cat >"$dir/baseline.yaml" <<YAML
version: 1
name: bench-pg-baseline
targets:
  pg: { type: postgres, dsn: "$dsn" }
steps:
  - id: baseline
    baseline: { target: pg, tables: [items] }
YAML
if ! "$backout" validate "$dir/backup.yaml" >"$dir/validate.log" 2>&1; then
  echo "bench: the postgres adapter is not in this build yet ($(head -1 "$dir/validate.log"))" >&2
  echo "pg_adapter_pending 1"
  exit 0
fi
seconds pg_ours_backup_s "$backout" run "$dir/backup.yaml" --journal "$journal"
backup_file=$(ls "$dir"/ours/* | head -1)
cat >"$dir/restore.yaml" <<YAML
version: 1
name: bench-pg-restore
targets:
  pg: { type: postgres, dsn: "$dsn" }
steps:
  - id: restore
    restore: { target: pg, tables: [items], from: $backup_file }
YAML
seconds pg_ours_restore_s "$backout" run "$dir/restore.yaml" --journal "$journal"
seconds pg_ours_baseline_s "$backout" run "$dir/baseline.yaml" --journal "$journal"
