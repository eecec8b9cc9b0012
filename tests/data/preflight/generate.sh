#!/bin/bash
# For tests/preflight_corpus_test.cc: DIR/app.db (the database every plan changes first),
# DIR/locked.db (held by another process in one case) and a sound backup, DIR/backups/good.db;
# ROWS is unused. Each test writes its own plan.yaml.
set -euo pipefail
sqlite3 "$1/app.db" "CREATE TABLE marks (step TEXT NOT NULL); INSERT INTO marks VALUES ('seed');"
sqlite3 "$1/locked.db" "CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items VALUES (1);"
mkdir -p "$1/backups"
sqlite3 "$1/backups/good.db" "CREATE TABLE marks (step TEXT NOT NULL);"
