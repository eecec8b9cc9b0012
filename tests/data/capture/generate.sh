#!/usr/bin/env bash
# The application before its migration: images and docs, ROWS rows each (tests/capture_test.cc).
set -euo pipefail
dir=$1 rows=$2
rm -f "$dir/app.db"
/usr/bin/sqlite3 "$dir/app.db" <<SQL
CREATE TABLE images (id INTEGER PRIMARY KEY, name TEXT NOT NULL, bytes INTEGER);
CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO images SELECT i, 'image-' || i, i * 10 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO docs SELECT i, 'doc-' || i FROM n;
SQL
