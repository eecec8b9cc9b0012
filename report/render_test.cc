// The three renderers on hand-built journals: what each form must contain, what it must
// escape, and that the same journal always gives the same bytes.
#include "report/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/utf8.h"
#include "report/test_journal.h"
#include "report/text.h"

namespace backout::report {
namespace {

using ::testing::HasSubstr;
using testing::Contains;
using testing::Lacks;
using testing::TestJournal;


// A finished run touching every section: triage, a note with markup characters, a crash
// settled by an operator, an approval, a backup, a failed verification check.
void WriteEventfulRun(TestJournal& j) {
  j.StartRun(0);
  j.At(1).Add(sm::TriageRecorded{"data_corruption", "critical", "rollback_now", "within 15m"},
              "erin");
  j.At(2).Add(sm::NoteAdded{"a | b\n<script>alert(1)</script>"}, "erin");
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(70).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "bob");
  j.At(70).Add(sm::StepInDoubt{"stop-app", 1}, "bob");
  j.At(71).Add(sm::StepChecked{"stop-app", sm::StepChecked::Finding::kUnknown, "no answer"}, "bob");
  j.At(71).Add(sm::RunPaused{sm::RunPaused::Reason::kInDoubt, "stop-app"}, "bob");
  j.At(80).Add(sm::StepResolved{"stop-app", true}, "dave");
  j.At(81).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "bob");
  j.At(82).Add(sm::StepStarted{"backup", 1}, "bob");
  j.At(83).Add(
      sm::StepSucceeded{
          "backup",
          1,
          {{"path", "/b/app.db"}, {"bytes", 3 << 20}, {"sha256", std::string(64, 'c')}}},
      "bob");
  j.At(84).Add(sm::ApprovalGranted{"confirm", "GO", sm::ApprovalGranted::Via::kApproveFlag}, "bob");
  j.At(85).Add(sm::StepStarted{"drop", 1}, "bob");
  j.At(86).Add(sm::StepSucceeded{"drop", 1}, "bob");
  j.At(87).Add(sm::StepStarted{"verify", 1}, "bob");
  j.At(88).Add(sm::StepFailed{"verify",
                              1,
                              "1 of 1 checks failed",
                              {{"checks",
                                {{{"check", "row_count images"},
                                  {"expected", 100},
                                  {"observed", 99},
                                  {"pass", false},
                                  {"message", "expected 100, observed 99"}}}}}},
               "bob");
  j.At(89).Add(sm::StepSkipped{"start-app", "an earlier step failed"}, "bob");
  j.At(90).Add(sm::RunFinished{sm::RunFinished::Ending::kFailed}, "bob");
}

RunReport EventfulReport() {
  TestJournal j;
  WriteEventfulRun(j);
  return j.Build();
}

const std::vector<std::string> kSectionTitles = {"Run summary",
                                                 "Post-mortem",
                                                 "Summary",
                                                 "Impact",
                                                 "Trigger and root cause",
                                                 "Detection",
                                                 "Resolution",
                                                 "Timeline",
                                                 "Action items",
                                                 "Steps",
                                                 "Approvals and resolves",
                                                 "Verification",
                                                 "Backups",
                                                 "Errors",
                                                 "Interruptions",
                                                 "Operator notes",
                                                 "Event timeline",
                                                 "Integrity"};

TEST(RenderMarkdown, HasEverySectionHeadingAndMarkedBlanks) {
  const std::string md = RenderMarkdown(EventfulReport());
  EXPECT_TRUE(Contains(md, "# Rollback report: test-rollback\n"));
  for (const std::string& title : kSectionTitles) {
    EXPECT_TRUE(Contains(md, "# " + title + "\n")) << title;
  }
  EXPECT_TRUE(Contains(md, "### Detection\n\n_to be filled in_: How and when"));
  EXPECT_EQ(md.back(), '\n');
  EXPECT_NE(md.substr(md.size() - 2), "\n\n");
}

TEST(RenderMarkdown, FillsThePostMortemFromTheJournal) {
  const std::string md = RenderMarkdown(EventfulReport());
  EXPECT_TRUE(Contains(md,
                       "- Triage by erin at 2027-01-15 08:00:01 UTC: data_corruption at "
                       "severity critical; recommended action: roll back now (within 15m).\n"));
  EXPECT_TRUE(Contains(md, "- Verification: 0 of 1 checks passed; failed: row_count images.\n"));
  EXPECT_TRUE(Contains(md, "- Give step `stop-app` a `check:`"));
  EXPECT_TRUE(Contains(md,
                       "- Find out why verification check 'row_count images' (`verify`) "
                       "failed: expected 100, observed 99.\n"));
  EXPECT_TRUE(Contains(md,
                       "Find out why the runner stopped after 2027-01-15 08:00:10 UTC "
                       "(nothing journaled for 1m00s)."));
  EXPECT_TRUE(Contains(md,
                       "| **crash** | 2027-01-15 08:00:10 UTC | 2027-01-15 08:01:10 UTC | "
                       "1m00s |"));
  EXPECT_TRUE(Contains(md, std::string(64, 'c')));
}

TEST(RenderMarkdown, WithoutTriageSaysSoAndKeepsTheRootCauseBlank) {
  TestJournal j;
  j.StartRun(0);
  const std::string md = RenderMarkdown(j.Build());
  EXPECT_TRUE(Contains(md, "- No triage decision was recorded in this run.\n"));
  EXPECT_TRUE(Contains(md, "_to be filled in_: The change or event that caused the incident"));
  EXPECT_TRUE(Contains(md, "No approvals or resolves.\n"));
}

TEST(RenderMarkdown, EscapesTheColumnSeparatorInJournalText) {
  const std::string md = RenderMarkdown(EventfulReport());
  EXPECT_TRUE(Contains(md, "| erin | a \\| b <script>alert(1)</script> |"));
}

TEST(RenderHtml, HasEverySectionHeadingAndMarkedBlanks) {
  const std::string html = RenderHtml(EventfulReport());
  for (const std::string& title : kSectionTitles) {
    EXPECT_TRUE(Contains(html, "<h2>" + title + "</h2>") ||
                Contains(html, "<h3>" + title + "</h3>"))
        << title;
  }
  EXPECT_TRUE(Contains(html, "<p class=\"blank\"><em>to be filled in</em>: How and when"));
  EXPECT_TRUE(Contains(html, "Give step <code>stop-app</code> a <code>check:</code>"));
}

TEST(RenderHtml, EscapesJournalTextAndFetchesNothing) {
  const std::string html = RenderHtml(EventfulReport());
  EXPECT_TRUE(Lacks(html, "<script"));
  EXPECT_TRUE(Contains(html, "a | b &lt;script&gt;alert(1)&lt;/script&gt;"));
  // Self-contained: the only URL is the SVG namespace.
  std::string without_namespace = html;
  const std::string ns = "http://www.w3.org/2000/svg";
  without_namespace.erase(without_namespace.find(ns), ns.size());
  EXPECT_TRUE(Lacks(without_namespace, "http"));
  EXPECT_TRUE(Lacks(html, " src="));
  EXPECT_TRUE(Lacks(html, " href="));
}

TEST(RenderHtml, ChartsPlannedAndActualTimeOfEachStep) {
  const std::string html = RenderHtml(EventfulReport());
  EXPECT_TRUE(Contains(html, "<svg xmlns="));
  // stop-app: planned 30s; actual from +10s to the resolve at +80s, over its plan.
  EXPECT_TRUE(Contains(html, "fill=\"#c5ced8\"><title>stop-app: planned 30.0s</title>"));
  EXPECT_TRUE(Contains(html, "fill=\"#d4a72c\"><title>stop-app: actual 1m10s</title>"));
  // The longest duration fills the whole bar width.
  EXPECT_TRUE(Contains(html, "width=\"480\" height=\"12\" rx=\"3\" fill=\"#d4a72c\">"));
  // verify failed: red; start-app never ran: no actual bar.
  EXPECT_TRUE(Contains(html, "fill=\"#cf222e\"><title>verify: actual 1.0s</title>"));
  EXPECT_TRUE(Lacks(html, "<title>start-app: actual"));
}

TEST(RenderJson, UsesNullForWhatNeverHappenedAndKeepsEveryList) {
  const nlohmann::json j = RenderJson(EventfulReport());
  EXPECT_EQ(j["format_version"], 1);
  EXPECT_EQ(j["run_id"], "run-1");
  EXPECT_EQ(j["summary"]["outcome"], "failed");
  EXPECT_EQ(j["summary"]["downtime"]["state"], "open");
  EXPECT_TRUE(j["summary"]["downtime"]["end"].is_null());
  EXPECT_EQ(j["summary"]["started"], "2027-01-15T08:00:00.000000Z");
  const nlohmann::json& start_app = j["steps"][5];
  EXPECT_EQ(start_app["id"], "start-app");
  EXPECT_EQ(start_app["downtime"], "end");
  EXPECT_TRUE(start_app["started"].is_null());
  EXPECT_TRUE(start_app["actual_ms"].is_null());
  const nlohmann::json& stop_app = j["steps"][0];
  EXPECT_EQ(stop_app["recovered"], "resolve");
  EXPECT_EQ(stop_app["in_doubt"][0]["settled"], "resolve");
  EXPECT_EQ(stop_app["in_doubt"][0]["effect_in_place"], true);
  EXPECT_EQ(j["decisions"].size(), 2u);
  EXPECT_EQ(j["decisions"][1]["via"], "--approve");
  EXPECT_TRUE(j["decisions"][1]["waited_ms"].is_null());
  EXPECT_EQ(j["interruptions"][0]["kind"], "crash");
  EXPECT_EQ(j["interruptions"][1]["kind"], "pause");
  EXPECT_EQ(j["verification"][0]["observed"], 99);
  EXPECT_EQ(j["backups"][0]["bytes"], 3 << 20);
  EXPECT_EQ(j["triage"][0]["action"], "rollback_now");
  EXPECT_EQ(j["notes"][0]["by"], "erin");
  EXPECT_EQ(j["errors"][0]["message"], "1 of 1 checks failed");
  EXPECT_EQ(j["timeline"].size(), 19u);
  EXPECT_EQ(j["integrity"]["events"], 19);
}

TEST(Render, SameJournalGivesTheSameBytesInEveryFormat) {
  for (const std::string format : {"md", "html", "json"}) {
    const Result<std::string> first = Render(EventfulReport(), format);
    const Result<std::string> second = Render(EventfulReport(), format);
    ASSERT_TRUE(first.ok()) << format;
    ASSERT_TRUE(second.ok()) << format;
    EXPECT_TRUE(*first == *second) << format;
  }
}

TEST(Render, AClockThatSteppedBackGivesNoNegativeDurationAndIsNamedInEveryFormat) {
  // Given a run whose host clock stepped back 6 s between backup's start and its outcome
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(15).Add(sm::StepSucceeded{"stop-app", 1});
  j.At(16).Add(sm::StepStarted{"backup", 1});
  j.At(10).Add(sm::StepSucceeded{"backup", 1});
  // When the report is built
  const RunReport r = j.Build();
  // Then no duration is negative, and the report says where the clock stepped back
  ASSERT_TRUE(r.summary.clock_stepped_back.has_value());
  EXPECT_EQ(r.summary.clock_stepped_back->seq, 5u);
  EXPECT_EQ(r.summary.clock_stepped_back->ms, 6'000);
  EXPECT_EQ(TestJournal::StepOf(r, "backup").actual_ms, 0);
  for (const TimelineEntry& e : r.timeline) EXPECT_GE(e.since_start_ms, 0) << e.type;
  for (const std::string format : {"md", "html"}) {
    const Result<std::string> text = Render(r, format);
    ASSERT_TRUE(text.ok()) << format;
    EXPECT_THAT(*text, HasSubstr("The host clock stepped back during the run (event #5 is 6.0s "
                                 "earlier than an event before it)"))
        << format;
  }
  const Result<std::string> json_text = Render(r, "json");
  ASSERT_TRUE(json_text.ok());
  const nlohmann::json j_report = nlohmann::json::parse(*json_text);
  EXPECT_EQ(j_report["summary"]["clock_stepped_back"], (nlohmann::json{{"seq", 5}, {"ms", 6000}}));
  EXPECT_TRUE(j_report["summary"]["total_ms"].get<std::int64_t>() >= 0);
}

TEST(Render, NoClockNoteWhenTimeOnlyGoesForward) {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(10).Add(sm::StepSucceeded{"stop-app", 1});
  const RunReport r = j.Build();
  EXPECT_FALSE(r.summary.clock_stepped_back.has_value());
  EXPECT_TRUE(Render(r, "json")->find("\"clock_stepped_back\": null") != std::string::npos);
}

// Who and where: an operator name is a claim, the OS user of the appending process a fact.
// "bob" appended by root is flagged in every format; "alice" appended as alice is not.
RunReport RunByBobAsRoot() {
  TestJournal j;
  j.AppendedBy(OsUser{.uid = 1000, .name = "alice"});
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.AppendedBy(OsUser{.uid = 0, .name = "root"});
  j.At(20).Add(sm::StepSucceeded{"stop-app", 1}, "bob");
  j.At(30).Add(sm::NoteAdded{"by root"}, "bob");
  return j.Build();
}

// The JSON form's writer lists each entry's fields itself, in the order nlohmann::json sorts
// keys: its bytes must be the dump of RenderJson's document, with and without OS users.
TEST(RenderJson, WrittenFormIsTheDumpOfTheDocument) {
  RunReport without_os_users = RunByBobAsRoot();
  for (TimelineEntry& e : without_os_users.timeline) e.os_user.reset();
  for (const RunReport& r : {EventfulReport(), RunByBobAsRoot(), without_os_users}) {
    EXPECT_EQ(*Render(r, "json"), DumpJson(RenderJson(r), 2) + "\n");
  }
}

TEST(Render, EveryFormatShowsOperatorAndOsUserAndFlagsAMismatch) {
  const RunReport r = RunByBobAsRoot();
  ASSERT_EQ(r.summary.appenders.size(), 2u);
  EXPECT_FALSE(r.summary.appenders[0].mismatch);
  EXPECT_EQ(r.summary.appenders[0].events, 2u);
  EXPECT_TRUE(r.summary.appenders[1].mismatch);
  EXPECT_EQ(r.summary.appenders[1].events, 2u);
  EXPECT_FALSE(r.timeline[1].identity_mismatch);
  EXPECT_TRUE(r.timeline[2].identity_mismatch);

  const std::string md = RenderMarkdown(r);
  EXPECT_TRUE(
      Contains(md, "| Run by | alice as alice (uid 1000); bob as root (uid 0), mismatch |"));
  EXPECT_TRUE(Contains(md, "Run by (operator as OS user): alice as alice (uid 1000); bob as root "
                           "(uid 0), mismatch."));
  EXPECT_TRUE(Contains(md, "Operator and OS user differ for some events"));
  EXPECT_TRUE(Contains(md, "| # | Time | Since start | Who | OS user | Host | Step | What |"));
  EXPECT_TRUE(Contains(md, "| alice | alice (uid 1000) | ops-1 | `stop-app` |"));
  EXPECT_TRUE(Contains(md, "| bob | root (uid 0), not bob: mismatch | ops-1 | `stop-app` |"));

  const std::string html = RenderHtml(r);
  EXPECT_TRUE(Contains(html, "<span class=\"warn\">root (uid 0), not bob: mismatch</span>"));
  EXPECT_TRUE(Contains(html, "<span class=\"warn\">alice as alice (uid 1000); bob as root (uid 0), "
                             "mismatch</span>"));
  EXPECT_TRUE(Contains(html, "<th>OS user</th><th>Host</th>"));

  const nlohmann::json j = RenderJson(r);
  EXPECT_EQ(j["summary"]["run_by"],
            (nlohmann::json{{{"operator", "alice"}, {"os_user", "alice"}, {"os_uid", 1000},
                             {"events", 2}, {"mismatch", false}},
                            {{"operator", "bob"}, {"os_user", "root"}, {"os_uid", 0},
                             {"events", 2}, {"mismatch", true}}}));
  EXPECT_EQ(j["timeline"][1]["os_user"], "alice");
  EXPECT_EQ(j["timeline"][1]["os_uid"], 1000);
  EXPECT_EQ(j["timeline"][1]["identity_mismatch"], false);
  EXPECT_EQ(j["timeline"][2]["operator"], "bob");
  EXPECT_EQ(j["timeline"][2]["os_user"], "root");
  EXPECT_EQ(j["timeline"][2]["os_uid"], 0);
  EXPECT_EQ(j["timeline"][2]["host"], "ops-1");
  EXPECT_EQ(j["timeline"][2]["identity_mismatch"], true);
}

TEST(Render, AnOsUserWithoutANameIsAMismatchToo) {
  TestJournal j;
  j.AppendedBy(OsUser{.uid = 4242, .name = ""});
  j.StartRun(0);
  const RunReport r = j.Build();
  EXPECT_TRUE(r.timeline[0].identity_mismatch);
  EXPECT_TRUE(Contains(RenderMarkdown(r), "uid 4242 (no user name), not alice: mismatch"));
}

// A run journaled before OS users were recorded (format version 1 records) renders as it did.
TEST(Render, ARunWithoutOsUsersHasNoNewFields) {
  const RunReport r = EventfulReport();
  EXPECT_TRUE(r.summary.appenders.empty());
  const std::string md = RenderMarkdown(r);
  EXPECT_TRUE(Lacks(md, "OS user"));
  EXPECT_TRUE(Lacks(md, "Run by"));
  EXPECT_TRUE(Contains(md, "| # | Time | Since start | Who | Step | What |"));
  const nlohmann::json j = RenderJson(r);
  EXPECT_FALSE(j["summary"].contains("run_by"));
  EXPECT_FALSE(j["timeline"][0].contains("os_user"));
  EXPECT_FALSE(j["timeline"][0].contains("identity_mismatch"));
}

// Resumed by this build, a run begun by an older one shows the older events as not recorded.
TEST(Render, OlderEventsOfAResumedRunSayTheirOsUserIsNotRecorded) {
  TestJournal j;
  j.StartRun(0);
  j.AppendedBy(OsUser{.uid = 1000, .name = "alice"});
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  const RunReport r = j.Build();
  ASSERT_EQ(r.summary.appenders.size(), 1u);
  EXPECT_FALSE(r.timeline[0].os_user.has_value());
  const std::string md = RenderMarkdown(r);
  EXPECT_TRUE(Contains(md, "| alice | not recorded | ops-1 |"));
  EXPECT_TRUE(Lacks(md, "mismatch"));
  const nlohmann::json json = RenderJson(r);
  EXPECT_FALSE(json["timeline"][0].contains("os_user"));
  EXPECT_EQ(json["timeline"][1]["os_user"], "alice");
}

TEST(Render, RefusesAnUnknownFormat) {
  const Result<std::string> out = Render(EventfulReport(), "pdf");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("'pdf'"));
}

TEST(OneLine, JoinsLinesAndNeverCutsAUtf8CharacterInTwo) {
  EXPECT_EQ(OneLine("a\nb", 10), "a b");
  EXPECT_EQ(OneLine("folded\n", 10), "folded");
  EXPECT_EQ(OneLine("ééé", 3), "é…");  // é is two bytes: a cut at 3 backs off to 2
  EXPECT_EQ(OneLine("abcdef", 4), "abcd…");
}

}  // namespace
}  // namespace backout::report
