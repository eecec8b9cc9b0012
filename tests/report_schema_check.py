#!/usr/bin/env python3
"""Checks `backout report --format json` output against docs/report.schema.json.

usage: report_schema_check.py SCHEMA REPORT.json...

Exit 0 when every report is valid; 1 after printing each violation (file, JSON pointer,
message); 2 when python3-jsonschema is missing (scripts/setup.sh installs it): a missing
validator is a failure, never a skip.
"""
import json
import sys

try:
    import jsonschema
except ImportError as error:
    print(f"python3-jsonschema is not importable ({error}); run scripts/setup.sh",
          file=sys.stderr)
    sys.exit(2)


def main(schema_path, report_paths):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    violations = 0
    for path in report_paths:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        for error in sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path))):
            violations += 1
            pointer = "/" + "/".join(str(p) for p in error.absolute_path)
            print(f"{path}: {pointer}: {error.message}", file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
