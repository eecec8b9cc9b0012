// Reading the findings of an adapter's Preflight() in tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "adapters/adapter.h"

namespace backout::testing {

// One line per finding: "CHECK => STATUS".
inline std::string DescribeFindings(const std::vector<adapters::PreflightFinding>& findings) {
  std::string text;
  for (const adapters::PreflightFinding& finding : findings) {
    text += finding.check + " => " + finding.status.ToString() + "\n";
  }
  return text;
}

// The only finding that is not OK; a test failure when there is not exactly one.
inline adapters::PreflightFinding TheOnlyFailure(
    const std::vector<adapters::PreflightFinding>& findings) {
  std::vector<adapters::PreflightFinding> failed;
  for (const adapters::PreflightFinding& finding : findings) {
    if (!finding.status.ok()) failed.push_back(finding);
  }
  EXPECT_EQ(failed.size(), 1u) << DescribeFindings(findings);
  return failed.empty() ? adapters::PreflightFinding{} : failed.front();
}

// A test failure unless there are findings and every one is OK.
inline void ExpectAllOk(const std::vector<adapters::PreflightFinding>& findings) {
  EXPECT_FALSE(findings.empty());
  for (const adapters::PreflightFinding& finding : findings) {
    EXPECT_TRUE(finding.status.ok()) << DescribeFindings(findings);
  }
}

// Whether some finding's check contains `words`.
inline bool AnyCheckMentions(const std::vector<adapters::PreflightFinding>& findings,
                             const std::string& words) {
  return std::any_of(findings.begin(), findings.end(),
                     [&](const adapters::PreflightFinding& finding) {
                       return finding.check.find(words) != std::string::npos;
                     });
}

}  // namespace backout::testing
