// Internal to the SQLite adapter: the verify action's checks (docs/adapters/sqlite.md).
#pragma once

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "adapters/sqlite/connection.h"

namespace backout::adapters::sqlite {

// Runs every check of `checks` (validated verify params) against `db`, which should hold a
// read snapshot so that all checks see the same state. `baseline` is Invocation::baseline,
// what the engine passes ({"tables": {T: {"rows": N, "checksum": HEX}}}), or null.
//
// A failing check does not stop the others. Outputs, on failure too:
//   {"checks": [{"check": "row_count images", "expected": 100, "observed": 99,
//                "pass": false, "message": "expected 100, observed 99"}, ...],
//    "passed": N, "failed": M}
// ("message" only on failed checks). Status: OK when every check passes; kCancelled or
// kTimeout as soon as the stop condition fires; the code of the first check that could not
// be evaluated at all (a query with a syntax error: kIOError) if any; else
// kExpectationFailed. Its message lists every failed check.
Outcome RunChecks(Connection& db, const nlohmann::json& checks, const nlohmann::json& baseline);

}  // namespace backout::adapters::sqlite
