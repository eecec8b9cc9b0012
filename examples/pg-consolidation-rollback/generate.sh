#!/usr/bin/env bash
# Builds the seed-002 database (the one ${DATABASE_URL} names) as it is right after the bad
# "consolidation" migration, with ROWS media rows (default 20000) and proportionally fewer of
# everything else. Every call starts from scratch: the example's tables and the `ops` schema
# are dropped first, so use a database of its own.
#
#   accounts, objects, media        tea-ceremony collection: who owns which object, and its
#   chakai, local_classes           photos; gatherings and the classes held at them.
#                                   Foreign keys between all of them, RLS policies on each.
#   schema_migrations               the applied migrations
#
# Steps:
#   1. the healthy, pre-migration state (with SKIP_MIGRATION=1 it stops here: that is the
#      state the rollbacks aim for, and what the tests compare with);
#   2. what the deploy pipeline does before every migration: `backout run pre-migration.yaml`
#      records a baseline in ops.pre_migration_baseline and writes backups/pre-migration.pgtables
#      (the data of media and local_classes) and backups/pre-migration.dump (pg_dump of it all);
#      $BACKOUT names the binary (default: backout on PATH);
#   3. the bad migration, see the comments in it below.
set -euo pipefail
dir=${1:?usage: generate.sh DIR [ROWS]}
rows=${2:-20000}
: "${DATABASE_URL:?set DATABASE_URL to the database to build (it is emptied first)}"
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$dir" && pwd)

accounts=$(( rows / 50 > 20 ? rows / 50 : 20 ))
objects=$(( rows / 2 > 40 ? rows / 2 : 40 ))
chakai=$(( rows / 100 > 10 ? rows / 100 : 10 ))
classes=$(( rows / 10 > 30 ? rows / 10 : 30 ))

psql() { command psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"; }

psql <<SQL
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS ops CASCADE;
DROP TABLE IF EXISTS object_media_summary, local_classes, chakai, media, objects, accounts,
  schema_migrations CASCADE;

CREATE TABLE accounts (
  id bigint PRIMARY KEY,
  email text NOT NULL UNIQUE,
  display_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT '2025-01-01 00:00:00+00');
CREATE TABLE objects (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  title text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('scroll', 'bowl', 'kettle', 'tray')),
  acquired_on date);
CREATE TABLE media (
  id bigint PRIMARY KEY,
  object_id bigint NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
  url text NOT NULL,
  mime text NOT NULL,
  bytes bigint NOT NULL CHECK (bytes > 0));
CREATE INDEX media_object_id_idx ON media (object_id);
CREATE TABLE chakai (
  id bigint PRIMARY KEY,
  host_id bigint NOT NULL REFERENCES accounts(id),
  title text NOT NULL,
  held_on date NOT NULL);
CREATE TABLE local_classes (
  id bigint PRIMARY KEY,
  chakai_id bigint NOT NULL REFERENCES chakai(id),
  teacher_id bigint NOT NULL REFERENCES accounts(id),
  name text NOT NULL,
  capacity integer NOT NULL CHECK (capacity > 0));
CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL);

-- Row level security: every user sees their own rows (the application sets app.account_id).
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY accounts_self ON accounts
  USING (id = current_setting('app.account_id', true)::bigint);
ALTER TABLE objects ENABLE ROW LEVEL SECURITY;
CREATE POLICY objects_owner ON objects
  USING (account_id = current_setting('app.account_id', true)::bigint);
ALTER TABLE media ENABLE ROW LEVEL SECURITY;
CREATE POLICY media_owner ON media
  USING (EXISTS (SELECT 1 FROM objects o WHERE o.id = media.object_id
                 AND o.account_id = current_setting('app.account_id', true)::bigint));
ALTER TABLE chakai ENABLE ROW LEVEL SECURITY;
CREATE POLICY chakai_read ON chakai FOR SELECT USING (true);
CREATE POLICY chakai_host ON chakai FOR UPDATE
  USING (host_id = current_setting('app.account_id', true)::bigint);
ALTER TABLE local_classes ENABLE ROW LEVEL SECURITY;
CREATE POLICY local_classes_teacher ON local_classes
  USING (teacher_id = current_setting('app.account_id', true)::bigint);

INSERT INTO accounts
  SELECT i, 'user' || i || '@example.org', 'Member ' || i,
         '2025-01-01 00:00:00+00'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, $accounts) i;
INSERT INTO objects
  SELECT i, 1 + i % $accounts, 'Object ' || i,
         (ARRAY['scroll', 'bowl', 'kettle', 'tray'])[1 + i % 4],
         CASE WHEN i % 5 = 0 THEN NULL ELSE date '2000-01-01' + i % 9000 END
  FROM generate_series(1, $objects) i;
INSERT INTO media
  SELECT i, 1 + i % $objects, 'https://cdn.example.com/media/' || i || '.jpg',
         CASE WHEN i % 4 = 0 THEN 'image/png' ELSE 'image/jpeg' END, 1000 + (i * 7919) % 900000
  FROM generate_series(1, $rows) i;
INSERT INTO chakai
  SELECT i, 1 + (i * 7) % $accounts, 'Chakai ' || i, date '2025-03-01' + i
  FROM generate_series(1, $chakai) i;
INSERT INTO local_classes
  SELECT i, 1 + i % $chakai, 1 + (i * 3) % $accounts, 'Class ' || i, 4 + i % 12
  FROM generate_series(1, $classes) i;
INSERT INTO schema_migrations VALUES
  ('20250110_initial', '2025-01-10 09:00:00+00'),
  ('20250402_local_classes', '2025-04-02 09:00:00+00');

CREATE SCHEMA ops;
CREATE TABLE ops.pre_migration_baseline (name text PRIMARY KEY, rows bigint, digest text NOT NULL);
SQL

if [ "${SKIP_MIGRATION:-0}" = 1 ]; then
  echo "generated the pre-migration state: $rows media rows (migration not applied)"
  exit 0
fi

# The deploy pipeline's snapshot, taken with backout itself, in a journal of its own.
rm -rf "$dir/backups"
mkdir -p "$dir/backups"
"${BACKOUT:-backout}" run "$here/pre-migration.yaml" --journal "$dir/backups/pipeline-journal" \
  >"$dir/backups/pre-migration.log" 2>&1 ||
  { cat "$dir/backups/pre-migration.log" >&2; exit 1; }

# The bad migration. It "consolidates" objects and media, and on the way:
#  - schema: adds objects.media_count and a summary table, renames chakai.held_on (the
#    application still reads held_on), replaces the objects policy by one keyed on a setting
#    the application never sets (members lose access to their own objects), switches RLS off
#    on accounts, and drops the foreign key from local_classes to chakai;
#  - data: rewrites the URL and type of every third media row, deletes every tenth class and
#    moves every seventh one to another gathering.
psql <<SQL
BEGIN;
ALTER TABLE local_classes DROP CONSTRAINT local_classes_chakai_id_fkey;
ALTER TABLE objects ADD COLUMN media_count integer NOT NULL DEFAULT 0;
UPDATE objects o SET media_count = (SELECT count(*) FROM media m WHERE m.object_id = o.id);
CREATE INDEX objects_media_count_idx ON objects (media_count);
CREATE TABLE object_media_summary (
  object_id bigint PRIMARY KEY REFERENCES objects(id),
  media_count integer NOT NULL,
  total_bytes bigint NOT NULL);
INSERT INTO object_media_summary
  SELECT object_id, count(*), sum(bytes) FROM media GROUP BY object_id;
ALTER TABLE chakai RENAME COLUMN held_on TO event_date;
DROP POLICY objects_owner ON objects;
CREATE POLICY objects_org ON objects
  USING (account_id = current_setting('app.org_id', true)::bigint);
ALTER TABLE accounts DISABLE ROW LEVEL SECURITY;
UPDATE media SET url = replace(url, 'https://cdn.example.com/', 'storage://consolidated/'),
                 mime = 'application/octet-stream'
  WHERE id % 3 = 0;
DELETE FROM local_classes WHERE id % 10 = 0;
UPDATE local_classes SET chakai_id = chakai_id % $chakai + 1 WHERE id % 7 = 0;
INSERT INTO schema_migrations VALUES ('20251204_consolidate_objects_media', '2025-12-04 12:00:00+00');
COMMIT;
SQL
echo "generated the post-migration state: $rows media rows, $objects objects, $classes classes before the migration"
