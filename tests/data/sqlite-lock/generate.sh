#!/bin/bash
# An empty `applied` table in DIR/app.db; ROWS is unused. For tests/target_lock_test.cc.
set -euo pipefail
sqlite3 "$1/app.db" "CREATE TABLE applied (runner TEXT NOT NULL);"
