// Who and where, as facts, end to end: the real binary runs examples/media-rollback with
// `--operator bob`, and every event, `events` (text and JSON), the export and the report in
// every format show bob beside the real OS user and uid of the process that appended it,
// taken by the journal from the system (getuid), which no flag changes. Bob is not the OS
// user running the tests, so the mismatch is flagged; an operator named as the OS user is not.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const std::map<std::string, std::string> kFastApp = {{"APP_DRAIN_SECONDS", "0.05"}};

// The OS user running this test, asked of the system directly (a witness independent of
// backout's own Env).
struct RealUser {
  std::uint32_t uid = 0;
  std::string name;
};

RealUser ThisProcessUser() {
  RealUser user{.uid = static_cast<std::uint32_t>(::getuid())};
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) user.name = pw->pw_name;
  return user;
}

::testing::AssertionResult HasPart(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "missing: " << part;
}

TEST(WhoAndWhere, OperatorBobAndTheRealOsUserAreShownSideBySideAndTheMismatchIsFlagged) {
  const RealUser me = ThisProcessUser();
  ASSERT_FALSE(me.name.empty()) << "the test user needs a user-database entry";
  ASSERT_NE(me.name, "bob") << "the test needs an OS user that is not bob";
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);

  // Given a run made with --operator bob (and USER / LOGNAME saying bob too: neither is a
  // source of the OS user)
  Example ex("media-rollback", 200);
  std::map<std::string, std::string> env = kFastApp;
  env["USER"] = "bob";
  env["LOGNAME"] = "bob";
  const ProcessResult run = ex.Backout(
      {"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA", "--operator", "bob"}, env);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  // and a note added under the OS user's own name
  ASSERT_EQ(ex.Backout({"note", run_id, "checked", "--operator", me.name}).exit_code, 0);

  // Then every event of `events --json` names bob (or the note's author) as the operator,
  // and the real OS user, uid and host as the appender
  const std::vector<json> events = Events(ex, run_id);
  ASSERT_GE(events.size(), 3u);
  for (const json& e : events) {
    EXPECT_EQ(e.at("os_user"), me.name) << e.dump();
    EXPECT_EQ(e.at("os_uid"), me.uid) << e.dump();
    EXPECT_EQ(e.at("host"), host) << e.dump();
  }
  EXPECT_EQ(events.front().at("operator"), "bob");
  EXPECT_EQ(events.back().at("operator"), me.name);

  // `events` text says who appended it and flags bob's events only
  const ProcessResult text = ex.Backout({"events", run_id});
  ASSERT_EQ(text.exit_code, 0) << Show(text);
  const std::string as_me = fmt::format(" as {} (uid {})", me.name, me.uid);
  EXPECT_TRUE(HasPart(text.out, fmt::format("bob@{}{} [mismatch] RunStarted", host, as_me)));
  EXPECT_TRUE(HasPart(text.out, fmt::format("{}@{}{} NoteAdded", me.name, host, as_me)));

  // The export carries them on every line
  const ProcessResult exported = ex.Backout({"export", run_id});
  ASSERT_EQ(exported.exit_code, 0) << Show(exported);
  EXPECT_TRUE(HasPart(exported.out, fmt::format("\"operator\":\"bob\",\"host\":\"{}\",\"os_user\":"
                                                "\"{}\",\"os_uid\":{},",
                                                host, me.name, me.uid)));

  // The report, in every format, shows both and flags bob as a mismatch
  const json report = ReportJson(ex, run_id);
  const json& run_by = report.at("summary").at("run_by");
  ASSERT_EQ(run_by.size(), 2u) << run_by.dump();
  EXPECT_EQ(run_by[0], (json{{"operator", "bob"}, {"os_user", me.name}, {"os_uid", me.uid},
                             {"events", events.size() - 1}, {"mismatch", true}}));
  EXPECT_EQ(run_by[1], (json{{"operator", me.name}, {"os_user", me.name}, {"os_uid", me.uid},
                             {"events", 1}, {"mismatch", false}}));
  for (const json& entry : report.at("timeline")) {
    EXPECT_EQ(entry.at("os_user"), me.name);
    EXPECT_EQ(entry.at("os_uid"), me.uid);
    EXPECT_EQ(entry.at("identity_mismatch"), entry.at("operator") == "bob");
  }
  const fs::path json_file = ex.dir() / "report.json";
  ASSERT_EQ(ex.Backout({"report", run_id, "--format", "json", "-o", json_file.string()})
                .exit_code,
            0);
  const ProcessResult schema = CheckReportSchema({json_file});
  EXPECT_EQ(schema.exit_code, 0) << Show(schema);

  const std::string pair = fmt::format("bob as {} (uid {}), mismatch", me.name, me.uid);
  const std::string flagged = fmt::format("{} (uid {}), not bob: mismatch", me.name, me.uid);
  for (const std::string format : {"md", "html"}) {
    const ProcessResult rendered = ex.Backout({"report", run_id, "--format", format});
    ASSERT_EQ(rendered.exit_code, 0) << Show(rendered);
    EXPECT_TRUE(HasPart(rendered.out, pair)) << format;
    EXPECT_TRUE(HasPart(rendered.out, flagged)) << format;
    EXPECT_TRUE(HasPart(rendered.out, "Operator and OS user differ")) << format;
  }
}

}  // namespace
}  // namespace backout::testing
