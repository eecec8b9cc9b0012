#!/usr/bin/env bash
# The seed-004 rollback (examples/media-rollback/plan.yaml) as an operator would script it
# by hand with the sqlite3 shell: the peer of the end-to-end benchmark in scripts/bench.sh.
# Same steps, same checks, as far as sqlite3 can do them: counts and content hashes
# (sha3_query) as the baseline, a backup, the SQL, then the same verification. No journal,
# no resume, no approval prompt.
#
#   bench/media-rollback.sh DIR      DIR as made by examples/media-rollback/generate.sh
set -euo pipefail
cd "${1:?usage: media-rollback.sh DIR}"
db=data/app.db

# stop-app
./app-ctl stop
./app-ctl is-stopped

# baseline: row counts and content hashes of the four tables
summary() {  # summary TABLE...: "table count hash" per table
  for t in "$@"; do
    sqlite3 "$db" "SELECT '$t', count(*), (SELECT hex(sha3_query('SELECT * FROM $t'))) FROM $t"
  done
}
baseline=$(summary images docs media migrations)

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

# verify
fail() { echo "verify: $*" >&2; exit 1; }
[[ $(sqlite3 "$db" "SELECT count(*) FROM sqlite_schema WHERE name = 'media'") == 0 ]] ||
  fail "media still there"
for t in images docs users; do
  [[ $(sqlite3 "$db" "SELECT count(*) FROM sqlite_schema WHERE name = '$t'") == 1 ]] ||
    fail "$t missing"
done
after=$(summary images docs)
[[ $after == "$(grep -E '^(images|docs)\|' <<<"$baseline")" ]] || fail "images or docs changed"
[[ $(sqlite3 "$db" "SELECT count(*) FROM migrations WHERE name = 'media_unification'") == 0 ]] ||
  fail "marker still there"
[[ $(sqlite3 "$db" "PRAGMA integrity_check") == ok ]] || fail "integrity_check"
[[ -z $(sqlite3 "$db" "PRAGMA foreign_key_check") ]] || fail "foreign_key_check"

# start-app
./app-ctl start
