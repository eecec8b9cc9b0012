// The plan the scenarios tests are written against, parsed from YAML as a user writes it.
#pragma once

#include <gtest/gtest.h>

#include "plan/parser.h"
#include "plan/plan.h"
#include "plan/test_vocabulary.h"

namespace backout::scenarios::testing {

// maintenance-on (idempotent), backup (idempotent), confirm (approval), restore-items (a
// check decides when in doubt), fix (operator resolves; on_failure pause), verify-counts
// (two attempts), maintenance-off (always).
inline const plan::Plan& TestPlan() {
  static const plan::Plan plan = [] {
    const plan::ParseOutcome parsed = plan::ParsePlan(R"(version: 1
name: test-rollback
targets:
  db: { type: sqlite, path: app.db }
  ops: { type: command }
steps:
  - id: maintenance-on
    command: { target: ops, argv: [on] }
    idempotent: true
  - id: backup
    backup: { target: db, to: backups/ }
  - id: confirm
    approval: { prompt: "Go on?", phrase: GO }
  - id: restore-items
    sql: { target: db, script: "DELETE FROM items;" }
    check: { query: { target: db, sql: "SELECT 1", expect: 1 } }
  - id: fix
    sql: { target: db, script: "UPDATE items SET x = 1;" }
    on_failure: pause
  - id: verify-counts
    sql: { target: db, script: "SELECT 1;" }
    retry: { attempts: 2, backoff: 1s }
  - id: maintenance-off
    command: { target: ops, argv: [off] }
    idempotent: true
    always: true
)",
                                                      "plan.yaml",
                                                      plan::DefaultVocabularyForTests());
    for (const plan::Diagnostic& d : parsed.diagnostics) ADD_FAILURE() << d.ToString();
    return *parsed.plan;
  }();
  return plan;
}

}  // namespace backout::scenarios::testing
