#include "report/junit.h"

#include <fmt/format.h>

#include <algorithm>

#include "report/text.h"

namespace backout::report {

namespace {

std::size_t Failures(const JUnitSuite& suite) {
  return static_cast<std::size_t>(std::count_if(suite.cases.begin(), suite.cases.end(),
                                                [](const JUnitCase& c) { return c.failed; }));
}

}  // namespace

std::string RenderJUnit(const std::vector<JUnitSuite>& suites) {
  std::size_t tests = 0;
  std::size_t failures = 0;
  for (const JUnitSuite& suite : suites) {
    tests += suite.cases.size();
    failures += Failures(suite);
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites tests=\"{}\" failures=\"{}\" errors=\"0\">\n", tests, failures);
  for (const JUnitSuite& suite : suites) {
    out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n",
                       EscapeMarkup(suite.name), suite.cases.size(), Failures(suite));
    for (const JUnitCase& test_case : suite.cases) {
      out += fmt::format("    <testcase name=\"{}\" classname=\"{}\"", EscapeMarkup(test_case.name),
                         EscapeMarkup(test_case.classname));
      if (!test_case.failed && test_case.output.empty()) {
        out += "/>\n";
        continue;
      }
      out += ">\n";
      if (test_case.failed) {
        out += fmt::format("      <failure message=\"{}\">{}</failure>\n",
                           EscapeMarkup(test_case.failure_message),
                           EscapeMarkup(test_case.failure_detail));
      }
      if (!test_case.output.empty()) {
        out += fmt::format("      <system-out>{}</system-out>\n", EscapeMarkup(test_case.output));
      }
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace backout::report
