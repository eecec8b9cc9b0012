#!/usr/bin/env bash
# The seed-004 rollback (examples/media-rollback/plan.yaml) as an operator would script it
# by hand with the sqlite3 shell: the peer of the end-to-end benchmark in scripts/bench.sh.
# The plan's steps with the checks the plan asks for, no more and no less:
#   baseline     row counts of images, docs, media and migrations, and content hashes
#                (sha3_query) of the two tables whose checksums verify compares (images,
#                docs): what the plan's baseline step records
#   backup       sqlite3 .backup
#   drop-media   one transaction; record-rollback and the count its check reads
#   verify       media absent; images, docs, users present; the counts and hashes of images
#                and docs equal the baseline's; no marker; integrity_check and
#                foreign_key_check (the plan's `integrity: true`)
# No journal, no resume, no approval prompt, no digest of the backup file.
#
#   bench/media-rollback.sh DIR      DIR as made by examples/media-rollback/generate.sh
set -euo pipefail
cd "${1:?usage: media-rollback.sh DIR}"
db=data/app.db

# stop-app
./app-ctl stop
./app-ctl is-stopped

# baseline: row counts of the four tables, content hashes of the two verify compares
count() { sqlite3 "$db" "SELECT count(*) FROM $1"; }
summary() {  # summary TABLE...: "table|count|hash" per table
  for t in "$@"; do
    sqlite3 "$db" "SELECT '$t', count(*), (SELECT hex(sha3_query('SELECT * FROM $t'))) FROM $t"
  done
}
baseline=$(summary images docs)
count media >/dev/null
count migrations >/dev/null

# backup
mkdir -p backups
sqlite3 "$db" ".backup 'backups/manual.db'"

# drop-media, record-rollback
sqlite3 "$db" <<'SQL'
BEGIN;
DROP TABLE IF EXISTS media;
DELETE FROM migrations WHERE name = 'media_unification';
COMMIT;
INSERT INTO rollback_log (migration, note)
VALUES ('media_unification', 'rolled back: images and docs restored as the source of truth');
SQL
[[ $(sqlite3 "$db" "SELECT count(*) FROM rollback_log WHERE migration = 'media_unification'") == 1 ]] ||
  { echo "record-rollback: no history row" >&2; exit 1; }

# verify
fail() { echo "verify: $*" >&2; exit 1; }
[[ $(sqlite3 "$db" "SELECT count(*) FROM sqlite_schema WHERE name = 'media'") == 0 ]] ||
  fail "media still there"
for t in images docs users; do
  [[ $(sqlite3 "$db" "SELECT count(*) FROM sqlite_schema WHERE name = '$t'") == 1 ]] ||
    fail "$t missing"
done
after=$(summary images docs)
[[ $after == "$baseline" ]] || fail "images or docs changed"
[[ $(sqlite3 "$db" "SELECT count(*) FROM migrations WHERE name = 'media_unification'") == 0 ]] ||
  fail "marker still there"
[[ $(sqlite3 "$db" "PRAGMA integrity_check") == ok ]] || fail "integrity_check"
[[ -z $(sqlite3 "$db" "PRAGMA foreign_key_check") ]] || fail "foreign_key_check"

# start-app
./app-ctl start
