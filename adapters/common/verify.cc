#include "adapters/common/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "base/utf8.h"

namespace backout::adapters::common {

using nlohmann::json;

Status AsAnswer(const Status& status) {
  if (status.code() == Code::kNotFound) return Status::ExpectationFailed(status.message());
  return status;
}

std::string Brief(const json& value) {
  if (value.is_string() && Text(value).size() > 16) return Text(value).substr(0, 12) + "...";
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json Report(const CheckResults& results) {
  json checks = json::array();
  std::int64_t passed = 0;
  for (const CheckResult& result : results) {
    json entry = {{"check", result.label},
                  {"expected", result.expected},
                  {"observed", result.observed},
                  {"pass", result.status.ok()}};
    if (result.status.ok()) {
      ++passed;
    } else {
      entry["message"] = result.status.message();
    }
    checks.push_back(std::move(entry));
  }
  const auto total = static_cast<std::int64_t>(results.size());
  return {{"checks", std::move(checks)}, {"passed", passed}, {"failed", total - passed}};
}

Status FailedExpectations(const std::vector<std::string>& problems) {
  if (problems.empty()) return Status::Ok();
  return Status::ExpectationFailed(fmt::format("{}", fmt::join(problems, "; ")));
}

Status Verdict(const CheckResults& results) {
  std::vector<std::string> failures;
  std::optional<Code> could_not_run;
  for (const CheckResult& result : results) {
    if (result.status.ok()) continue;
    failures.push_back(fmt::format("{}: {}", result.label, result.status.message()));
    if (result.status.code() != Code::kExpectationFailed && !could_not_run.has_value()) {
      could_not_run = result.status.code();
    }
  }
  if (failures.empty()) return Status::Ok();
  return Status(could_not_run.value_or(Code::kExpectationFailed),
                fmt::format("{} of {} checks failed: {}", failures.size(), results.size(),
                            fmt::join(failures, "; ")));
}

Outcome RunEachCheck(const json& checks, const StopCondition& stop,
                     const std::function<void(const json& item, CheckResults* out)>& run_one) {
  CheckResults results;
  for (const json& item : checks) {
    run_one(item, &results);
    if (Status stopped = stop.Check(); !stopped.ok()) {
      return Outcome{stopped.WithContext("verify"), Report(results)};
    }
  }
  return Outcome{Verdict(results), Report(results)};
}

Result<json> BaselineFigure(const json& baseline, std::string_view group, std::string_view noun,
                            const std::string& name, std::string_view field) {
  if (baseline.is_null()) {
    return Status::ExpectationFailed(
        "no baseline to compare with (no earlier "
        "baseline step on this target)");
  }
  const auto all = baseline.is_object() ? baseline.find(group) : baseline.end();
  if (all == baseline.end() || !all->is_object() || !all->contains(name)) {
    return Status::ExpectationFailed(
        fmt::format("the baseline does not cover {} '{}'", noun, name));
  }
  if (!(*all)[name].contains(field)) {
    // A baseline takes checksums only when a later check reads them (or `checksum: true`).
    return Status::ExpectationFailed(
        fmt::format("the baseline of {} '{}' has no {} (it took counts only)", noun, name, field));
  }
  return *(*all)[name].find(field);
}

std::string_view ColumnOrderName(ColumnOrder order) {
  return order == ColumnOrder::kByName ? "by_name" : "by_position";
}

Result<ColumnOrder> ColumnOrderFor(const json& equals, const json& baseline) {
  if (equals != "baseline" || !baseline.is_object()) return ColumnOrder::kByName;
  const auto recorded = baseline.find(kColumnOrderOutput);
  if (recorded == baseline.end()) return ColumnOrder::kByPosition;
  for (ColumnOrder order : {ColumnOrder::kByName, ColumnOrder::kByPosition}) {
    if (*recorded == ColumnOrderName(order)) return order;
  }
  return Status::FailedPrecondition(fmt::format(
      "the baseline's figures were made with column order {}, which this version of backout "
      "does not know; compare with a baseline taken by this version",
      Brief(*recorded)));
}

void BaselineChecksumParam(Checker& checker, const json& params) {
  const auto flag = params.find(kBaselineChecksumParam);
  if (flag == params.end() || flag->is_boolean()) return;
  const bool names = flag->is_array() && std::all_of(flag->begin(), flag->end(), [](const json& n) {
                       return n.is_string() && !n.get_ref<const std::string&>().empty();
                     });
  if (!names) {
    checker.Fail(fmt::format("/{}", kBaselineChecksumParam),
                 "must be true, false or a list of the names whose checksums to take");
  }
}

bool BaselineTakesChecksumOf(const json& params, const std::string& name) {
  const json flag = params.value(kBaselineChecksumParam, json(true));
  if (flag.is_array()) return std::find(flag.begin(), flag.end(), json(name)) != flag.end();
  return flag != json(false);
}

CheckResult CompareFigure(std::string label, const json& equals, const Result<json>& expected,
                          const Result<json>& observed) {
  CheckResult result(std::move(label), expected.ok() ? *expected : equals);
  if (!observed.ok()) {
    result.status = observed.status();
  } else {
    result.observed = *observed;
    if (!expected.ok()) {
      result.status = expected.status();
    } else if (*observed != *expected) {
      result.status = Status::ExpectationFailed(
          fmt::format("expected {}, observed {}", Brief(*expected), Brief(*observed)));
    }
  }
  return result;
}

void PresenceChecks(const json& names, bool want_present, std::string_view noun,
                    const std::function<Result<bool>(const std::string& name)>& exists,
                    CheckResults* out) {
  const json list = names.is_string() ? json::array({names}) : names;
  for (const json& name : list) {
    CheckResult result(
        fmt::format("{}_{} {}", noun, want_present ? "present" : "absent", Text(name)),
        want_present ? "present" : "absent");
    Result<bool> found = exists(Text(name));
    if (!found.ok()) {
      result.status = found.status();
    } else {
      result.observed = *found ? "present" : "absent";
      if (*found != want_present) {
        result.status = Status::ExpectationFailed(
            fmt::format("{} {}", noun, *found ? "exists" : "does not exist"));
      }
    }
    out->push_back(std::move(result));
  }
}

}  // namespace backout::adapters::common
