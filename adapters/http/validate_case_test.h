// Shared by the http and notify adapters' tests: one case of a Validate() table, and what
// the errors Validate() returned for it must be.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"

namespace backout::adapters::http {

struct ValidateCase {
  std::string name;
  nlohmann::json params;
  nlohmann::json target;  // what the suite makes the target config of (see each suite)
  std::string pointer;    // no message: no error expected
  bool in_target;
  std::string message;    // a part of the message
};

// No error when `c` expects none; else exactly one, at c's pointer, holding c's message.
inline void ExpectCaseErrors(const std::vector<ParamError>& errors, const ValidateCase& c) {
  if (c.message.empty()) {
    EXPECT_TRUE(errors.empty()) << errors.front().pointer << ": " << errors.front().message;
    return;
  }
  ASSERT_EQ(errors.size(), 1u) << (errors.empty() ? "" : errors[1].message);
  EXPECT_EQ(errors[0].pointer, c.pointer);
  EXPECT_EQ(errors[0].in_target, c.in_target);
  EXPECT_NE(errors[0].message.find(c.message), std::string::npos) << errors[0].message;
}

// The case's name as its test's name (INSTANTIATE_TEST_SUITE_P).
inline std::string CaseName(const ::testing::TestParamInfo<ValidateCase>& case_info) {
  return case_info.param.name;
}

}  // namespace backout::adapters::http
