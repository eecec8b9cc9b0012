#!/usr/bin/env bash
# generate.sh DIR [ROWS]: the gated plan's data: DIR/app.db with an empty table t, and the
# gate DIR/gate.fifo (a named pipe). ROWS is ignored (the tests' Example interface).
set -euo pipefail
dir=${1:?usage: generate.sh DIR [ROWS]}
rm -f "$dir/app.db" "$dir/gate.fifo" "$dir/gate.entered"
sqlite3 "$dir/app.db" "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT NOT NULL);"
mkfifo "$dir/gate.fifo"
