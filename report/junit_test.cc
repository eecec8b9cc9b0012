#include "report/junit.h"

#include <gtest/gtest.h>

namespace backout::report {
namespace {

TEST(JUnit, GivenPassingAndFailingCasesWhenRenderedThenCountsAndFailureAreThere) {
  JUnitSuite suite{"plan.yaml", {}};
  suite.cases.push_back({"each step succeeds", "plan.yaml", false, "", "", ""});
  suite.cases.push_back({"restore fails", "plan.yaml", true, "ended succeeded, expected failed",
                         "path: a, b", ""});
  const std::string xml = RenderJUnit({suite});
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u);
  EXPECT_NE(xml.find("<testsuites tests=\"2\" failures=\"1\" errors=\"0\">"), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"plan.yaml\" tests=\"2\" failures=\"1\""),
            std::string::npos);
  EXPECT_NE(xml.find("<testcase name=\"each step succeeds\" classname=\"plan.yaml\"/>"),
            std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"ended succeeded, expected failed\">path: a, b</failure>"),
            std::string::npos);
  EXPECT_EQ(xml.back(), '\n');
}

TEST(JUnit, GivenHostileTextWhenRenderedThenItIsEscapedAndControlBytesReplaced) {
  JUnitSuite suite{"s", {}};
  suite.cases.push_back({"a<b>&\"c'", "k", true, "x\x01y", "</failure><x>", "out\x1b[31m"});
  const std::string xml = RenderJUnit({suite});
  EXPECT_NE(xml.find("name=\"a&lt;b&gt;&amp;&quot;c&#39;\""), std::string::npos);
  EXPECT_NE(xml.find("message=\"x\uFFFDy\""), std::string::npos);
  EXPECT_NE(xml.find("&lt;/failure&gt;&lt;x&gt;</failure>"), std::string::npos);
  EXPECT_NE(xml.find("<system-out>out\uFFFD[31m</system-out>"), std::string::npos);
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace backout::report
