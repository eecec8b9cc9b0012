// The approval prompt on a real terminal: `script` gives backout a pseudo-terminal as its
// stdin/stdout, and the test types into it. A wrong phrase is refused and asked again; the
// right one approves, and the journal records who approved it and how.
#include <gtest/gtest.h>

#include "tests/support/example.h"

namespace backout::testing {
namespace {

ProcessResult RunOnTerminal(const Example& ex, const std::string& typed) {
  // `script` forwards its stdin to the pseudo-terminal; the sleeps let the prompt appear
  // before each answer is typed (a terminal discards nothing, so early input would also
  // work; the pauses only keep the transcript readable).
  const std::string command = ex.BackoutSpec({}).argv[0] + " run plan.yaml --operator erin";
  return RunProcess({.argv = {"/bin/sh", "-c",
                              "(sleep 1; printf '" + typed + "') | script -qec '" + command +
                                  "' /dev/null"},
                     .env = {{"BACKOUT_JOURNAL", ex.journal().string()},
                             {"APP_DRAIN_SECONDS", "0.1"}},
                     .cwd = ex.dir()});
}

TEST(TerminalPrompt, WrongPhraseIsAskedAgainRightPhraseApproves) {
  Example ex("media-rollback", 200);
  const ProcessResult r = RunOnTerminal(ex, "nope\\nROLLBACK_MEDIA\\n");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Type ROLLBACK_MEDIA to approve"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("that is not the phrase"), std::string::npos) << r.out;
  // On a terminal, progress uses the compact "[i/N] step: title" form.
  EXPECT_NE(r.out.find("[5/8] drop-media: Drop media"), std::string::npos) << r.out;

  // From the journal, not RunIdFrom: the terminal echoes what the test types, and on a slow
  // machine (ASan, loaded CI) the echo can come before the run id line backout prints first.
  const std::string run_id = OnlyRun(ex);
  const ProcessResult events = ex.Backout({"events", run_id, "--json"});
  EXPECT_NE(events.out.find(R"("operator":"erin")"), std::string::npos) << events.out;
  EXPECT_NE(events.out.find(R"("via":"prompt")"), std::string::npos) << events.out;
}

TEST(TerminalPrompt, EndOfInputPausesTheRun) {
  Example ex("media-rollback", 200);
  const ProcessResult r = RunOnTerminal(ex, "nope\\n");  // then the terminal closes
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const ProcessResult status = ex.Backout({"status", OnlyRun(ex), "--json"});
  EXPECT_NE(status.out.find(R"("reason": "approval")"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace backout::testing
