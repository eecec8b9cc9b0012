#!/usr/bin/env bash
# Builds the seed-000 scenario in DIR as it is right after the DynamoDB schema split, with
# ROWS items in each old table (default 200). Run it again to start over: everything it made
# before is deleted and made anew.
#
# DynamoDB (at $DYNAMO_ENDPOINT, signed with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY for
# $AWS_REGION, default us-east-1; a local server only, since this deletes tables):
#   sc-accounts, sc-repositories    the old tables, ROWS items each; the rollback keeps them
#   sc-v2-users, sc-v2-organizations, sc-v2-repositories
#                                   the new tables the migration created and filled from
#                                   the old ones; the rollback deletes them
# Files:
#   DIR/app/                        the application's git repository: commit "pre-migration"
#                                   (tag pre-migration), then the migration commit (main)
#   DIR/app/.env, .env.backup       the migrated configuration, and the copy of the old one
#                                   the migration saved before it edited .env (not in git)
#   DIR/service.log                 the stand-in service manager's history (./app-ctl): the
#                                   application running on the new schema
set -euo pipefail
shopt -s inherit_errexit
dir=${1:?usage: generate.sh DIR [ROWS]}
rows=${2:-200}
endpoint=${DYNAMO_ENDPOINT:?set DYNAMO_ENDPOINT to the local DynamoDB endpoint, e.g. http://127.0.0.1:4567}
region=${AWS_REGION:-us-east-1}
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID (any value for a local server)}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY (any value for a local server)}"
case "$endpoint" in
  http://127.0.0.1:* | http://localhost:* | http://\[::1\]:*) ;;
  *) echo "generate.sh: refusing $endpoint: it deletes and recreates tables, so it only talks to a local server" >&2
     exit 2 ;;
esac

old_tables=(sc-accounts sc-repositories)
new_tables=(sc-v2-users sc-v2-organizations sc-v2-repositories)

# The credentials reach curl through a private file, not its command line.
auth=$(mktemp)
trap 'rm -f "$auth"' EXIT
printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$auth"

# ddb OPERATION FINE_ERROR BODY...: one DynamoDB API call per JSON body, all of them from one
# curl process; prints the answers, one a line. An error answer stops the script unless its
# type is FINE_ERROR (e.g. ResourceNotFoundException; "" for none).
ddb() {
  local op=$1 fine=$2 args=() body out answer code
  shift 2
  for body in "$@"; do
    [ ${#args[@]} -eq 0 ] || args+=(--next)
    args+=(--silent --show-error --config "$auth" --max-time 30
           --aws-sigv4 "aws:amz:$region:dynamodb" -H 'Content-Type: application/x-amz-json-1.0'
           -H "X-Amz-Target: DynamoDB_20120810.$op" --data-binary "$body"
           --write-out '\n%{http_code}\n' "$endpoint")
  done
  out=$(curl "${args[@]}")
  while IFS= read -r answer && IFS= read -r code; do
    if [ "$code" != 200 ] && { [ -z "$fine" ] || [[ "$answer" != *"#$fine"* ]]; }; then
      echo "generate.sh: DynamoDB $op answered $code: $answer" >&2
      return 1
    fi
    printf '%s\n' "$answer"
  done <<< "$out"
}

# Polls until `condition` (a function reading the answers on stdin) holds, for 15 s at most.
poll() {
  local what=$1 condition=$2
  shift 2
  for _ in $(seq 1 300); do
    ddb "$@" | "$condition" && return 0
    sleep 0.05
  done
  echo "generate.sh: $what did not happen within 15 s" >&2
  return 1
}
none_listed() { ! grep -qE "\"($(IFS='|'; echo "${tables[*]}"))\""; }
all_active() { ! grep -qv '"TableStatus":"ACTIVE"'; }

# Every table is deleted and created anew (empty, key "id"): each phase is sent for all
# tables at once, then waited for.
tables=("${old_tables[@]}" "${new_tables[@]}")
deletes=() creates=() describes=()
for table in "${tables[@]}"; do
  deletes+=("{\"TableName\":\"$table\"}")
  describes+=("{\"TableName\":\"$table\"}")
  creates+=("{\"TableName\":\"$table\",
    \"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],
    \"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],
    \"ProvisionedThroughput\":{\"ReadCapacityUnits\":5,\"WriteCapacityUnits\":5}}")
done
ddb DeleteTable ResourceNotFoundException "${deletes[@]}" >/dev/null
poll "deleting ${tables[*]}" none_listed ListTables "" '{"Limit":100}'
ddb CreateTable "" "${creates[@]}" >/dev/null
poll "creating ${tables[*]}" all_active DescribeTable "" "${describes[@]}"

# batches TABLE ITEM... adds BatchWriteItem bodies for the items (DynamoDB JSON) to
# `writes`, 25 items each (the API's limit).
writes=()
batches() {
  local table=$1 requests
  shift
  while [ $# -gt 0 ]; do
    requests=$(printf '{"PutRequest":{"Item":%s}},' "${@:1:25}")
    writes+=("{\"RequestItems\":{\"$table\":[${requests%,}]}}")
    shift $(( $# < 25 ? $# : 25 ))
  done
}

# The old schema: every account (users and organizations alike) in sc-accounts, every
# repository in sc-repositories. The migration split accounts by kind and copied the
# repositories into a table keyed the new way.
accounts=() repositories=() users=() organizations=() repos_v2=()
for (( i = 1; i <= rows; i++ )); do
  printf -v id 'acct-%05d' "$i"
  if (( i % 5 == 0 )); then kind=organization; else kind=user; fi
  created=$(( 1700000000 + i * 3571 ))
  accounts+=("{\"id\":{\"S\":\"$id\"},\"kind\":{\"S\":\"$kind\"},\"login\":{\"S\":\"$kind-$i\"},\"created_at\":{\"N\":\"$created\"}}")
  if [ "$kind" = user ]; then
    users+=("{\"id\":{\"S\":\"$id\"},\"login\":{\"S\":\"$kind-$i\"},\"created_at\":{\"N\":\"$created\"},\"schema\":{\"N\":\"2\"}}")
  else
    organizations+=("{\"id\":{\"S\":\"$id\"},\"login\":{\"S\":\"$kind-$i\"},\"created_at\":{\"N\":\"$created\"},\"schema\":{\"N\":\"2\"}}")
  fi
  printf -v repo 'repo-%05d' "$i"
  printf -v owner 'acct-%05d' $(( 1 + (i * 7) % rows ))
  if (( i % 3 == 0 )); then private=true; else private=false; fi
  repositories+=("{\"id\":{\"S\":\"$repo\"},\"owner_id\":{\"S\":\"$owner\"},\"name\":{\"S\":\"project-$i\"},\"private\":{\"BOOL\":$private},\"stars\":{\"N\":\"$(( (i * 7919) % 1000 ))\"}}")
  repos_v2+=("{\"id\":{\"S\":\"$owner#$repo\"},\"name\":{\"S\":\"project-$i\"},\"private\":{\"BOOL\":$private},\"schema\":{\"N\":\"2\"}}")
done
batches sc-accounts "${accounts[@]}"
batches sc-repositories "${repositories[@]}"
batches sc-v2-users "${users[@]}"
batches sc-v2-organizations "${organizations[@]}"
batches sc-v2-repositories "${repos_v2[@]}"
if ddb BatchWriteItem "" "${writes[@]}" | grep -q '"UnprocessedItems":{"'; then
  echo "generate.sh: DynamoDB left items unprocessed" >&2
  exit 1
fi

# The application's repository, with fixed names and dates so that its commits have the
# same hashes every time.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=dev GIT_AUTHOR_EMAIL=dev@example.com GIT_COMMITTER_NAME=dev \
       GIT_COMMITTER_EMAIL=dev@example.com
app="$dir/app"
rm -rf "$app"
mkdir -p "$app/src"
git -C "$app" init --quiet --initial-branch=main
printf '.env\n.env.backup\n' > "$app/.gitignore"
cat > "$app/src/tables.js" <<'JS'
// Table names come from the environment (.env).
module.exports = {
  accounts: process.env.ACCOUNTS_TABLE,
  repositories: process.env.REPOSITORIES_TABLE,
};
JS
git -C "$app" add -A
GIT_AUTHOR_DATE='2026-11-01T10:00:00Z' GIT_COMMITTER_DATE='2026-11-01T10:00:00Z' \
  git -C "$app" commit --quiet -m 'Accounts and repositories on the old tables'
git -C "$app" tag pre-migration
mkdir -p "$app/scripts/migration"
cat > "$app/src/tables.js" <<'JS'
// Table names come from the environment (.env). Schema 2: accounts split by kind.
module.exports = {
  users: process.env.USERS_TABLE,
  organizations: process.env.ORGANIZATIONS_TABLE,
  repositories: process.env.REPOSITORIES_TABLE,
};
JS
printf '// Copies sc-accounts and sc-repositories into the sc-v2-* tables.\n' \
  > "$app/scripts/migration/migrate.ts"
printf '// Deletes the sc-v2-* tables.\n' > "$app/scripts/migration/rollback.ts"
git -C "$app" add -A
GIT_AUTHOR_DATE='2026-11-20T22:00:00Z' GIT_COMMITTER_DATE='2026-11-20T22:00:00Z' \
  git -C "$app" commit --quiet -m 'Split accounts into users and organizations (schema 2)'

# The configuration: the migration saved the old .env as .env.backup, then rewrote .env.
cat > "$app/.env.backup" <<'ENV'
# sc application configuration
NODE_ENV=production
SCHEMA_VERSION=1
ACCOUNTS_TABLE=sc-accounts
REPOSITORIES_TABLE=sc-repositories
ENV
cat > "$app/.env" <<'ENV'
# sc application configuration (migrated to schema 2)
NODE_ENV=production
SCHEMA_VERSION=2
USERS_TABLE=sc-v2-users
ORGANIZATIONS_TABLE=sc-v2-organizations
REPOSITORIES_TABLE=sc-v2-repositories
ENV
chmod 0600 "$app/.env" "$app/.env.backup"

# The application runs on the new schema, started once since the migration.
rm -f "$dir/service.log"
"$dir/app-ctl" start >/dev/null

echo "generated $rows items in each of ${old_tables[*]}, the ${new_tables[*]} tables from them, and $app"
