#!/usr/bin/env bash
# Builds the seed-004 database in DIR/data/app.db as it is right after the media
# unification migration, with ROWS rows each in images and docs (default 20000):
#   users, images, docs       the original tables (foreign keys to users)
#   media                     images and docs merged by the migration
#   migrations                with the 'media_unification' completion marker
#   rollback_log              history of rollbacks (empty)
# Also writes DIR/backups/pre-migration.db (the state before the migration) and marks
# the stand-in application as running.
set -euo pipefail
dir=${1:?usage: generate.sh DIR [ROWS]}
rows=${2:-20000}
mkdir -p "$dir/data" "$dir/backups"
db="$dir/data/app.db"
rm -f "$db" "$db-journal" "$db-wal" "$dir/backups/pre-migration.db"

sqlite3 "$db" <<SQL

PRAGMA foreign_keys = ON;
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE images (
  id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES users(id),
  filename TEXT NOT NULL, mime TEXT NOT NULL, bytes INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE docs (
  id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES users(id),
  title TEXT NOT NULL, mime TEXT NOT NULL, bytes INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE rollback_log (id INTEGER PRIMARY KEY, migration TEXT NOT NULL, note TEXT NOT NULL);

BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO users SELECT i, 'user-' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO images SELECT i, 1 + i % 500, 'img-' || i || '.png', 'image/png',
  1000 + (i * 7919) % 900000, datetime(1700000000 + i * 37, 'unixepoch') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO docs SELECT i, 1 + (i * 3) % 500, 'Document ' || i, 'application/pdf',
  5000 + (i * 104729) % 4000000, datetime(1700000000 + i * 53, 'unixepoch') FROM n;
COMMIT;
SQL

sqlite3 "$db" ".backup '$dir/backups/pre-migration.db'"

# The migration being rolled back.
sqlite3 "$db" <<'SQL'
BEGIN;
CREATE TABLE media (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, legacy_id INTEGER NOT NULL,
  owner_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL, mime TEXT NOT NULL,
  bytes INTEGER NOT NULL, created_at TEXT NOT NULL);
INSERT INTO media (kind, legacy_id, owner_id, name, mime, bytes, created_at)
  SELECT 'image', id, owner_id, filename, mime, bytes, created_at FROM images;
INSERT INTO media (kind, legacy_id, owner_id, name, mime, bytes, created_at)
  SELECT 'doc', id, owner_id, title, mime, bytes, created_at FROM docs;
INSERT INTO migrations VALUES ('media_unification', '2026-11-20T22:00:00Z');
COMMIT;
SQL

echo running > "$dir/app.state"
echo "generated $db: $rows images, $rows docs, $((rows * 2)) media rows ($(stat -c %s "$db") bytes)"
