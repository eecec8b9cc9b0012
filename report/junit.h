// JUnit XML, the result format CI systems (GitLab, Jenkins, GitHub test reporters) read, for
// `backout replay --junit` and `backout test --junit`.
//
// The subset every consumer agrees on: one <testsuites> with one <testsuite> per suite, one
// <testcase> per case, a <failure> child for a failed case, optional <system-out>. Every text
// is escaped (report/text.h EscapeMarkup), so names and messages taken from plans and
// journals cannot break the document.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace backout::report {

struct JUnitCase {
  std::string name;       // what was checked, e.g. "restore-items fails"
  std::string classname;  // its group, e.g. the plan or the run id
  bool failed = false;
  std::string failure_message;  // one line; the <failure message="..."> attribute
  std::string failure_detail;   // the <failure> element's text (may span lines)
  std::string output;           // <system-out>, left out when empty
};

struct JUnitSuite {
  std::string name;
  std::vector<JUnitCase> cases;
};

// The whole document, starting with the XML declaration and ending with a newline.
std::string RenderJUnit(const std::vector<JUnitSuite>& suites);

}  // namespace backout::report
