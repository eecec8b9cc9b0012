// The report as evidence: the integrity section (chain mode, head, hosts, what was checked,
// the signature), the step logs and the embedded plan, in every format, on hand-built values.
#include <gtest/gtest.h>

#include "report/render.h"
#include "report/test_journal.h"

namespace backout::report {
namespace {

using testing::Contains;
using testing::Lacks;
using testing::TestJournal;


const std::string kLogSha = std::string(64, 'e');

// stop-app ran once and wrote a log whose digest its outcome journaled.
RunReport ReportOfARunWithALog(journal::ChainMode mode) {
  TestJournal j;
  j.SetChainMode(mode);
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(15).Add(sm::StepSucceeded{"stop-app", 1, {{"exit_code", 0}},
                                 sm::LogDigest{"stop-app.1.log", 2048, kLogSha}});
  return j.Build();
}

std::string Md(const RunReport& r) { return RenderMarkdown(r); }

TEST(EvidenceIntegrity, NamesTheChainModeTheRecordsSayAndWordsTheChainByIt) {
  const RunReport plain = ReportOfARunWithALog(journal::ChainMode::kSha256);
  EXPECT_EQ(plain.integrity.chain_mode, "sha256");
  EXPECT_EQ(plain.integrity.head_seq, 3u);
  EXPECT_EQ(plain.integrity.hosts, std::vector<std::string>{"ops-1"});
  const std::string plain_md = Md(plain);
  EXPECT_TRUE(Contains(plain_md, "| Chain mode | sha256 (unkeyed: anyone can recompute it) |"));
  EXPECT_TRUE(Contains(plain_md, "A plain SHA-256 chain is not keyed"));
  EXPECT_TRUE(Lacks(plain_md, "HMAC"));

  // A keyed run: the same facts, the keyed wording; a keyed run re-chained as plain would
  // read as the plain one above, so the downgrade shows.
  const RunReport keyed = ReportOfARunWithALog(journal::ChainMode::kHmacSha256);
  EXPECT_EQ(keyed.integrity.chain_mode, "hmac-sha256");
  const std::string keyed_md = Md(keyed);
  EXPECT_TRUE(Contains(keyed_md, "| Chain mode | hmac-sha256 (keyed with the journal key) |"));
  EXPECT_TRUE(Contains(keyed_md, "Each event carries an HMAC-SHA-256"));
  EXPECT_TRUE(Lacks(keyed_md, "Each event carries the SHA-256"));
  EXPECT_TRUE(Contains(RenderHtml(keyed), "hmac-sha256 (keyed with the journal key)"));
  EXPECT_EQ(RenderJson(keyed)["integrity"]["chain_mode"], "hmac-sha256");
  EXPECT_EQ(RenderJson(plain)["integrity"]["chain_mode"], "sha256");
}

// Every fact of the integrity section, set as a caller (the CLI) sets them, in every format.
TEST(EvidenceIntegrity, ShowsHeadHostsChecksAndSignatureInEveryFormat) {
  RunReport r = ReportOfARunWithALog(journal::ChainMode::kHmacSha256);
  r.integrity.hosts = {"ops-1", "db-<2>"};
  r.integrity.decisions_verified = true;
  r.integrity.signature = SignatureStatus{.state = SignatureStatus::State::kVerified,
                                          .key_fingerprint = "SHA256:k3y",
                                          .covers_seq = 2};
  const std::string head = r.integrity.head_hash;
  ASSERT_EQ(head.size(), 64u);

  const std::string md = Md(r);
  EXPECT_TRUE(Contains(md, "| Head event | #3 |"));
  EXPECT_TRUE(Contains(md, "| Head hash | `" + head + "` |"));
  EXPECT_TRUE(Contains(md, "| Hash chain | verified |"));
  EXPECT_TRUE(Contains(md, "| Decisions | every decision re-derived: all match |"));
  EXPECT_TRUE(Contains(md, "| Signature | verified with key SHA256:k3y, covering events #1 to #2; "
                           "events after #2 are not signed |"));
  EXPECT_TRUE(Contains(md, "| Recorded on | ops-1, db-<2> |"));

  const std::string html = RenderHtml(r);
  EXPECT_TRUE(Contains(html, "<h2>Integrity</h2>"));
  EXPECT_TRUE(Contains(html, head));
  EXPECT_TRUE(Contains(html, "ops-1, db-&lt;2&gt;"));
  EXPECT_TRUE(Contains(html, "verified with key SHA256:k3y, covering events #1 to #2"));
  EXPECT_TRUE(Contains(html, "every decision re-derived: all match"));

  const nlohmann::json j = RenderJson(r)["integrity"];
  EXPECT_EQ(j["head_seq"], 3);
  EXPECT_EQ(j["head_hash"], head);
  EXPECT_EQ(j["hosts"], nlohmann::json({"ops-1", "db-<2>"}));
  EXPECT_EQ(j["chain_verified"], true);
  EXPECT_EQ(j["decisions_verified"], true);
  EXPECT_EQ(j["signature"], nlohmann::json({{"state", "verified"},
                                            {"key_fingerprint", "SHA256:k3y"},
                                            {"covers_seq", 2}}));
}

TEST(EvidenceIntegrity, WordsEverySignatureStateAndDecisionCheck) {
  RunReport r = ReportOfARunWithALog(journal::ChainMode::kSha256);
  // As BuildReport leaves them: unsigned, decisions not re-derived.
  EXPECT_EQ(r.integrity.signature.state, SignatureStatus::State::kUnsigned);
  EXPECT_FALSE(r.integrity.decisions_verified.has_value());
  EXPECT_TRUE(Contains(Md(r), "| Signature | unsigned |"));
  EXPECT_TRUE(Contains(Md(r), "| Decisions | not re-derived |"));
  nlohmann::json j = RenderJson(r)["integrity"];
  EXPECT_EQ(j["signature"]["state"], "unsigned");
  EXPECT_TRUE(j["signature"]["covers_seq"].is_null());
  EXPECT_TRUE(j["decisions_verified"].is_null());

  r.integrity.decisions_verified = false;
  r.integrity.signature = {SignatureStatus::State::kUnchecked, "SHA256:k3y", 3};
  EXPECT_TRUE(Contains(Md(r), "| Decisions | **a decision diverges when re-derived (see "
                              "`backout replay`)** |"));
  EXPECT_TRUE(Contains(Md(r), "| Signature | signed with key SHA256:k3y, covering events #1 to "
                              "#3; not checked (no public key given) |"));
  EXPECT_EQ(RenderJson(r)["integrity"]["signature"]["state"], "unchecked");
  EXPECT_EQ(RenderJson(r)["integrity"]["decisions_verified"], false);

  r.integrity.signature = {SignatureStatus::State::kFailed, "SHA256:k3y", 3};
  EXPECT_TRUE(Contains(Md(r), "| Signature | **FAILED (key SHA256:k3y)** |"));
  EXPECT_EQ(RenderJson(r)["integrity"]["signature"]["state"], "failed");
}

TEST(EvidenceLogs, EachJournaledLogDigestIsListedInEveryFormat) {
  const RunReport r = ReportOfARunWithALog(journal::ChainMode::kSha256);
  ASSERT_EQ(r.logs.size(), 1u);
  EXPECT_EQ(r.logs[0].step, "stop-app");
  EXPECT_EQ(r.logs[0].attempt, 1);
  EXPECT_EQ(r.logs[0].seq, 3u);
  EXPECT_TRUE(Contains(Md(r), "## Step logs\n"));
  EXPECT_TRUE(Contains(Md(r), "| `stop-app` | 1 | `stop-app.1.log` | 2048 bytes | `" + kLogSha +
                                  "` | #3 |"));
  EXPECT_TRUE(Contains(RenderHtml(r), "<h2>Step logs</h2>"));
  EXPECT_TRUE(Contains(RenderHtml(r), kLogSha));
  EXPECT_EQ(RenderJson(r)["logs"],
            nlohmann::json::array({{{"step", "stop-app"}, {"attempt", 1}, {"seq", 3},
                                    {"file", "stop-app.1.log"}, {"bytes", 2048},
                                    {"sha256", kLogSha}}}));

  // Without a journaled log: no section (older reports stay as they were), an empty list.
  TestJournal j;
  j.StartRun(0);
  const RunReport none = j.Build();
  EXPECT_TRUE(Lacks(Md(none), "Step logs"));
  EXPECT_EQ(RenderJson(none)["logs"], nlohmann::json::array());
}

TEST(EvidencePlan, TheJournaledPlanTextIsEmbeddedOnlyWhenAskedAndShownVerbatim) {
  RunReport r = ReportOfARunWithALog(journal::ChainMode::kSha256);
  EXPECT_TRUE(Lacks(Md(r), "Plan as journaled"));
  EXPECT_FALSE(RenderJson(r).contains("plan_text"));

  const std::string text = "version: 1\nname: x  # a ``` fence and <b>${DB_PASSWORD}</b>\n";
  r.plan_text = text;
  // Markdown: a fence longer than the text's own backtick run.
  EXPECT_TRUE(Contains(Md(r), "## Plan as journaled\n\n````yaml\n" + text + "````\n"));
  // HTML: escaped, in <pre>.
  EXPECT_TRUE(Contains(RenderHtml(r),
                       "<pre>version: 1\nname: x  # a ``` fence and "
                       "&lt;b&gt;${DB_PASSWORD}&lt;/b&gt;\n</pre>"));
  EXPECT_EQ(RenderJson(r)["plan_text"], text);
}

}  // namespace
}  // namespace backout::report
