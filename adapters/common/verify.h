// Shared by the adapters' verify actions: per-check results, the report they
// write into the outputs and the verdict they return, in one shape for every
// adapter (reports read them alike):
//   {"checks": [{"check": "row_count images", "expected": 100, "observed": 99,
//                "pass": false, "message": "expected 100, observed 99"}, ...],
//    "passed": N, "failed": M}
// ("message" only on failed checks). A failing check does not stop the others.
//
// What a check looks at and how it is judged stays in the adapter.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/common/params.h"
#include "adapters/common/stop.h"
#include "base/status.h"

namespace backout::adapters::common {

// The verdict on one check. `status` is OK when the check passed,
// kExpectationFailed when the target did not meet it, any other code when it
// could not be evaluated.
struct CheckResult {
  CheckResult(std::string label_in, nlohmann::json expected_in)
      : label(std::move(label_in)), expected(std::move(expected_in)) {}

  std::string label;  // "row_count images"
  nlohmann::json expected;
  nlohmann::json observed;  // null when nothing could be observed
  Status status;
};

using CheckResults = std::vector<CheckResult>;

// A missing table (kNotFound) is an answer ("no"), not a failure to evaluate
// the check.
Status AsAnswer(const Status& status);

// A value for messages: checksums are long, and their first digits are enough
// to tell them apart ("3f2a9c01be44..."); anything else as compact JSON.
std::string Brief(const nlohmann::json& value);

// The outputs of a verify: every result, and how many passed and failed.
nlohmann::json Report(const CheckResults& results);

// The status of one check that found `problems` (what it saw that it should not have): OK
// when there are none, else kExpectationFailed listing them ("a; b").
Status FailedExpectations(const std::vector<std::string>& problems);

// OK when every check passed. Else the code of the first check that could not
// be evaluated, if any, or kExpectationFailed; the message lists every failed
// check ("2 of 5 checks failed: row_count t: expected 3, observed 2; ...").
Status Verdict(const CheckResults& results);

// Runs `run_one` for each item of `checks` (validated: one-key mappings), which
// appends its result(s). Stops with `stop`'s kCancelled or kTimeout (context
// "verify") as soon as it fires between checks; the outputs are the report of
// the checks run so far either way.
Outcome RunEachCheck(
    const nlohmann::json& checks, const StopCondition& stop,
    const std::function<void(const nlohmann::json& item, CheckResults* out)>& run_one);

// The baseline's `field` ("rows", "checksum") for the `noun` `name` ("table",
// "orders"), which the baseline keeps under `group` ({"tables": {"orders":
// {"rows": 3, ...}}}). A missing baseline, or one that does not cover `name`,
// is kExpectationFailed saying what is missing: the check cannot hold.
Result<nlohmann::json> BaselineFigure(const nlohmann::json& baseline, std::string_view group,
                                      std::string_view noun, const std::string& name,
                                      std::string_view field);

// How a content checksum or schema fingerprint orders a table's columns before hashing.
enum class ColumnOrder {
  // By column name: a column dropped and re-added at the end of the table, with the same
  // values, hashes as before. What this version computes.
  kByName,
  // By position in the table, as versions before `column_order` existed did. Still computed
  // to compare with a baseline those versions journaled (a resumed run).
  kByPosition,
};

// The key of a baseline's outputs that records the ColumnOrder its checksums and
// fingerprint were made with: "column_order": "by_name" (or "by_position").
inline constexpr std::string_view kColumnOrderOutput = "column_order";

std::string_view ColumnOrderName(ColumnOrder order);

// The ColumnOrder to recompute a figure with so that it compares with one written as
// `equals`: the baseline's (`equals: baseline`) as it records it, kByPosition when it
// records none (journaled before the key existed); kByName for a figure written in the plan.
// A baseline recording an order this version does not know is kFailedPrecondition saying so:
// comparing anyway would report a mismatch that is not one.
Result<ColumnOrder> ColumnOrderFor(const nlohmann::json& equals, const nlohmann::json& baseline);

// The `checksum` parameter of a baseline (sqlite, postgres, json_store): which content
// checksums it computes besides counts: `true` (all), `false` (none), or a list of the names
// (tables, collections, as the baseline's outputs key them) whose checksums to take. The plan
// may write it; otherwise the engine passes its decision (engine::BaselineChecksums: only
// those a later check reads).
inline constexpr std::string_view kBaselineChecksumParam = "checksum";
// Validates it: absent, true, false, or a list of names.
void BaselineChecksumParam(Checker& checker, const nlohmann::json& params);
// Whether it asks for the checksum of `name`; true when absent.
bool BaselineTakesChecksumOf(const nlohmann::json& params, const std::string& name);

// A figure check (row_count, checksum): the figure now (`observed`) against the
// one expected, written in the plan (`equals`) or taken from the baseline
// (`expected`, an error when the baseline lacks it). An error in `observed` is
// the result's status as it is (pass it through AsAnswer() where "missing" is
// an answer).
CheckResult CompareFigure(std::string label, const nlohmann::json& equals,
                          const Result<nlohmann::json>& expected,
                          const Result<nlohmann::json>& observed);

// table_present / table_absent (collection_present ...): one result per name of
// `names` (one name or a list of them), labelled "NOUN_present NAME" or
// "NOUN_absent NAME". `exists` answers for one name; its error is the result's
// status.
void PresenceChecks(const nlohmann::json& names, bool want_present, std::string_view noun,
                    const std::function<Result<bool>(const std::string& name)>& exists,
                    CheckResults* out);

}  // namespace backout::adapters::common
