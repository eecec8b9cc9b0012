#!/usr/bin/env bash
# Builds the seed-001 scenario in DIR: the lightningtalk-circle application right after its
# migration from a file database to DynamoDB, with ROWS records per collection (default 200).
# Run it again to start over: everything it made before is made anew. What it makes is listed
# in make_scenario.py.
#
# Needs: DYNAMO_ENDPOINT (a local DynamoDB-compatible server: its tables are deleted and
# created again), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for a local server),
# APP_URL (the stand-in application, tests/support/http_test_server.py).
set -euo pipefail
dir=${1:?usage: generate.sh DIR [ROWS]}
rows=${2:-200}
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/make_scenario.py" "$dir" "$rows"
