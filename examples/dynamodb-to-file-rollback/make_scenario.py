#!/usr/bin/env python3
"""Builds the seed-001 scenario (python3 standard library only); generate.sh runs it.

  make_scenario.py DIR ROWS

Everything it made before is deleted and made anew, so every run starts from the same state:
the lightningtalk-circle application right after `npm run migrate-to-dynamodb`, running on
DynamoDB for a while.

DynamoDB ($DYNAMO_ENDPOINT, a local server only: the tables are deleted and created again;
requests signed with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY for region ap-northeast-1):
  lightningtalk-circle-{users,events,talks,participants}
      ROWS items each, copied by the migration, plus ROWS/10 participants (at least one)
      registered since then: they exist only in DynamoDB.
Files in DIR:
  migration-backups/pre-dynamodb/   the snapshot the migration took of the file database
  data/                             the file database as the migration left it: every record
                                    stamped "migrated_to_dynamodb", plus dynamo_sync_state.json
  .env                              DATABASE_TYPE=dynamodb (mode 0600)
  app.state, app.log                the stand-in service manager (./app-ctl): running on DynamoDB
The application's admin API ($APP_URL, the test server tests/support/http_test_server.py) is
reset: maintenance off, healthy, nothing recorded.
"""

import datetime
import hashlib
import hmac
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

REGION = "ap-northeast-1"  # the plan's dynamodb target says the same
TABLE_PREFIX = "lightningtalk-circle-"
COLLECTIONS = ["users", "events", "talks", "participants"]
MIGRATED_AT = "2026-11-20T22:00:00Z"


def fail(message):
    sys.exit("generate.sh: " + message)


def env(name):
    value = os.environ.get(name)
    if not value:
        fail("set %s (see README.md)" % name)
    return value


class DynamoDB:
    """The DynamoDB JSON API, signed with AWS Signature Version 4."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.key_id = env("AWS_ACCESS_KEY_ID")
        self.secret = env("AWS_SECRET_ACCESS_KEY")
        self.token = os.environ.get("AWS_SESSION_TOKEN")

    def call(self, operation, request, fine_error=None):
        payload = json.dumps(request).encode()
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        parts = urlsplit(self.endpoint)
        headers = {"content-type": "application/x-amz-json-1.0", "host": parts.netloc,
                   "x-amz-date": amz_date, "x-amz-target": "DynamoDB_20120810." + operation}
        if self.token:
            headers["x-amz-security-token"] = self.token
        names = sorted(headers)
        signed = ";".join(names)
        canonical = "\n".join(["POST", parts.path or "/", "",
                               "".join("%s:%s\n" % (n, headers[n]) for n in names), signed,
                               hashlib.sha256(payload).hexdigest()])
        scope = "%s/%s/dynamodb/aws4_request" % (day, REGION)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self.secret).encode()
        for part in (day, REGION, "dynamodb", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                    "Signature=%s" % (self.key_id, scope, signed, signature))
        http_request = urllib.request.Request(self.endpoint, data=payload, headers=headers)
        try:
            with urllib.request.urlopen(http_request, timeout=30) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")
            if fine_error and ("#" + fine_error) in body:
                return None
            fail("DynamoDB %s answered %d: %s" % (operation, error.code, body[:300]))
        except (urllib.error.URLError, OSError) as error:
            fail("cannot reach DynamoDB at %s: %s" % (self.endpoint, error))

    def wait_for(self, table, want):
        """Polls DescribeTable until the table is ACTIVE (want) or gone (want=None)."""
        for _ in range(600):
            answer = self.call("DescribeTable", {"TableName": table}, "ResourceNotFoundException")
            status = answer["Table"]["TableStatus"] if answer else None
            if status == want:
                return
            time.sleep(0.05)
        fail("table %s did not become %s" % (table, want or "absent"))

    def reset_table(self, table):
        self.call("DeleteTable", {"TableName": table}, "ResourceNotFoundException")
        self.wait_for(table, None)
        self.call("CreateTable", {
            "TableName": table,
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}})
        self.wait_for(table, "ACTIVE")

    def put(self, table, records):
        """Writes the records, 25 at a time (BatchWriteItem's limit)."""
        for start in range(0, len(records), 25):
            pending = {table: [{"PutRequest": {"Item": to_item(r)}}
                               for r in records[start:start + 25]]}
            for _ in range(20):
                pending = self.call("BatchWriteItem", {"RequestItems": pending})["UnprocessedItems"]
                if not pending:
                    break
                time.sleep(0.1)
            if pending:
                fail("DynamoDB left items of %s unprocessed" % table)


def to_item(record):
    """A record in DynamoDB JSON: strings S, integers N, booleans BOOL."""
    def value(v):
        if isinstance(v, bool):
            return {"BOOL": v}
        if isinstance(v, int):
            return {"N": str(v)}
        return {"S": v}
    return {k: value(v) for k, v in record.items()}


def records(rows):
    """The application's data before the migration: ROWS records per collection."""
    users = [{"id": "user-%05d" % i, "name": "Speaker %d" % i,
              "email": "user%d@lightningtalk.example.com" % i,
              "role": "organizer" if i % 10 == 0 else "member"} for i in range(1, rows + 1)]
    events = [{"id": "event-%05d" % i, "title": "Lightning Talk Night #%d" % i,
               "date": (datetime.date(2026, 1, 1) + datetime.timedelta(days=7 * i)).isoformat(),
               "venue": "Room %d" % (1 + i % 4), "capacity": 40 + i % 3 * 20,
               "online": i % 2 == 0} for i in range(1, rows + 1)]
    talks = [{"id": "talk-%05d" % i, "event_id": "event-%05d" % (1 + i % rows),
              "speaker_id": "user-%05d" % (1 + (i * 7) % rows),
              "title": "Five minutes on topic %d" % i, "minutes": 5} for i in range(1, rows + 1)]
    participants = [participant(i, rows) for i in range(1, rows + 1)]
    return {"users": users, "events": events, "talks": talks, "participants": participants}


def participant(i, rows):
    return {"id": "participant-%05d" % i, "event_id": "event-%05d" % (1 + (i * 3) % rows),
            "user_id": "user-%05d" % (1 + (i * 11) % rows),
            "registered_at": "2026-%02d-%02dT19:00:00Z" % (1 + i % 12, 1 + i % 28)}


def write_store(folder, collections):
    os.makedirs(folder)
    for name, items in collections.items():
        with open(os.path.join(folder, name + ".json"), "w") as f:
            json.dump(items, f, indent=2)
            f.write("\n")


ENV_FILE = """\
# lightningtalk-circle production settings
NODE_ENV=production
PORT=3000

# Database: file (JSON files in data/) or dynamodb
DATABASE_TYPE=dynamodb
DATA_DIR=./data
DYNAMODB_TABLE_PREFIX=lightningtalk-circle-
AWS_REGION=ap-northeast-1

export SESSION_SECRET='s3ss10n-4f1c9d2b7e'
"""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_scenario.py DIR ROWS")
    root, rows = sys.argv[1], int(sys.argv[2])
    if rows < 1:
        fail("ROWS must be at least 1")
    endpoint = env("DYNAMO_ENDPOINT")
    if urlsplit(endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
        fail("refusing %s: this deletes and recreates tables, so it only talks to a local "
             "server" % endpoint)
    app_url = env("APP_URL").rstrip("/")

    # Files: start over.
    for name in ("data", "migration-backups", "backups", "dynamodb-exports"):
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    for name in os.listdir(root):
        if ".restore-backout" in name or ".replaced-backout" in name or "tmp-backout" in name:
            path = os.path.join(root, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)

    before = records(rows)
    write_store(os.path.join(root, "migration-backups", "pre-dynamodb"), before)
    migrated = {name: [dict(r, migrated_to_dynamodb=MIGRATED_AT) for r in items]
                for name, items in before.items()}
    migrated["dynamo_sync_state"] = [{"table": TABLE_PREFIX + name, "synced_at": MIGRATED_AT,
                                      "records": len(items)} for name, items in before.items()]
    write_store(os.path.join(root, "data"), migrated)

    env_path = os.path.join(root, ".env")
    with open(env_path, "w") as f:
        f.write(ENV_FILE)
    os.chmod(env_path, 0o600)

    # DynamoDB: what the migration copied, and what was registered since.
    ddb = DynamoDB(endpoint)
    since = [participant(i, rows) for i in range(rows + 1, rows + 1 + max(1, rows // 10))]
    for name in COLLECTIONS:
        ddb.reset_table(TABLE_PREFIX + name)
        ddb.put(TABLE_PREFIX + name, before[name] + (since if name == "participants" else []))

    # The application: running on DynamoDB, its admin API back to the start state.
    with open(os.path.join(root, "app.state"), "w") as f:
        f.write("running database=dynamodb\n")
    with open(os.path.join(root, "app.log"), "w") as f:
        f.write("start database=dynamodb\n")
    reset = urllib.request.Request(app_url + "/_control/reset", data=b"{}", method="POST")
    try:
        urllib.request.urlopen(reset, timeout=30).close()
    except (urllib.error.URLError, OSError) as error:
        fail("cannot reset the stand-in application at %s: %s" % (app_url, error))

    print("generated %d records in each of %s (%d more participants in DynamoDB only)"
          % (rows, ", ".join(COLLECTIONS), len(since)))


if __name__ == "__main__":
    main()
