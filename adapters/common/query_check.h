// Shared by the SQL adapters (sqlite, postgres): the `query` action and the verify check
// `query`, which run one read-only statement and compare the first value it returns with
// the plan's `expect`. How a value is read stays in the adapter (each database types its
// values its own way); how it is judged and described is here, so that both adapters judge
// alike (docs/adapters/sqlite.md, docs/adapters/postgres.md: "How expect compares").
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "adapters/adapter.h"
#include "adapters/common/verify.h"
#include "base/status.h"

namespace backout::adapters::common {

// Whether the value a query returned (`observed`, typed as the database typed it) meets the
// plan's `expected` value:
//   - both null;
//   - both strings, equal byte for byte;
//   - both numbers, numerically equal (2 and 2.0 match; true and false count as 1 and 0);
//   - `expected` a string that is all of a decimal number ("42", "-1.5", "1e3": what
//     `expect: ${COUNT}` gives, as ${VAR} expands to text) and `observed` a number (or a
//     boolean) equal to it.
// Only the expectation is read as a number: a value the database returns as text stays text,
// so a text column holding '2' does not meet `expect: 2` (a type the plan did not expect is a
// finding, not a match).
bool QueryValueMatches(const nlohmann::json& observed, const nlohmann::json& expected);

// "returned 3, expected 0": for messages.
std::string DescribeMismatch(const nlohmann::json& observed, const nlohmann::json& expected);

// The start of a piece of SQL for messages: up to the end of its first statement (the first
// ';' outside '...' and "..." quotes), whitespace runs collapsed to one space, cut after
// `max_chars` bytes (never inside a UTF-8 character) with "...".
std::string AbbreviateSql(std::string_view sql, std::size_t max_chars);

// Reads the first value `sql` returns (null for no row), as the adapter's QueryFirstValue.
using FirstValueReader = std::function<Result<nlohmann::json>(const std::string& sql)>;

// The verify check `query: {sql, expect}` (validated): labelled "query " + the sql
// abbreviated to 60 bytes, expecting `expect`, observing what `first_value` returns. A read
// error is the result's status as it is (the check could not be evaluated).
CheckResult RunQueryCheck(const nlohmann::json& spec, const FirstValueReader& first_value);

// The query action's outcome for the value read (`value`): outputs {"value": V}, and
// kExpectationFailed "query returned V, expected E" when `params` (validated) hold an
// `expect` that V does not meet. A read error is the outcome's status, with no outputs.
Outcome QueryActionOutcome(const Result<nlohmann::json>& value, const nlohmann::json& params);

}  // namespace backout::adapters::common
