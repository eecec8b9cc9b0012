#!/usr/bin/env bash
# generate.sh DIR [ROWS]: the one-step plan needs no data (the tests' Example interface).
set -euo pipefail
: "${1:?usage: generate.sh DIR [ROWS]}"
