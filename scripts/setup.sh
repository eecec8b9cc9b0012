#!/usr/bin/env bash
# Installs every build and test dependency of backout on Debian 12 with apt.
# Idempotent: packages already present are left alone, so CI and the demo can call it
# on every run. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  librocksdb-dev libsqlite3-dev sqlite3 libpq-dev postgresql
  libfmt-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  libsimdjson-dev              # base/json_text.h: the journal's payloads parsed fast
  libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-jsonschema   # tests/report_test.cc checks reports against docs/report.schema.json
  python3-botocore             # tests/support/throttling_proxy.py checks every SigV4 signature
  chromium                     # tests/browser_test.cc loads the HTML report in headless Chromium
  ccache                       # shared compile cache for the several build trees
  clang libclang-rt-14-dev     # libFuzzer targets (fuzz/) and LeakSanitizer
  valgrind                     # scripts/leak-check.sh
  rocksdb-tools                # ldb and sst_dump: tests/journal_tools_test.cc opens a run with them
  dpkg-dev                     # dpkg-shlibdeps: cpack declares the .deb's Depends (tests/package_test.sh)
  awscli                       # /usr/bin/aws: the object storage tests cross-check every object
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The DynamoDB-compatible test server (dynalite) and the S3-compatible one (s3rver) come
# from npm. Some machines carry a
# Node.js build with npm bundled (which conflicts with Debian's npm package): use it if so.
command -v npm >/dev/null || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# dynalite itself, at the version tools/dynalite/package-lock.json pins (in memory: no
# native LevelDB build needed).
dynalite_dir="$(dirname "$0")/../tools/dynalite"
if [[ ! -d "$dynalite_dir/node_modules" ]]; then
  echo "setup: installing dynalite (npm ci --prefix tools/dynalite)"
  npm ci --prefix "$dynalite_dir" --no-audit --no-fund >/dev/null
fi
# s3rver, likewise pinned by tools/s3rver/package-lock.json (its data in a folder the tests
# make).
s3rver_dir="$(dirname "$0")/../tools/s3rver"
if [[ ! -d "$s3rver_dir/node_modules" ]]; then
  echo "setup: installing s3rver (npm ci --prefix tools/s3rver)"
  npm ci --prefix "$s3rver_dir" --no-audit --no-fund >/dev/null
fi
echo "setup: all dependencies present"
