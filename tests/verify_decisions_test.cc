// `backout verify` re-derives every journaled decision (issue 15, Deliver 2): a history
// rewritten by someone who can write the journal, with the whole plain SHA-256 chain
// recomputed so that every hash and link is right and every event an allowed transition, is
// still an integrity error (exit 4) naming the event that gives it away, with what it records
// and what the journaled plan decides there. `import` refuses such an export the same way;
// `replay --file` reports it as a divergence (exit 1).
//
// The runs are the recorded fixtures (tests/fixtures/, docs/replay.md#the-fixtures), edited
// as a forger would: records deleted or replaced, seq renumbered, every hash recomputed, and
// written into a fresh journal through the journal library (as an attacker with write access
// to the journal directory would), bypassing the command line's checks.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "journal/export.h"
#include "journal/journal.h"
#include "journal/record_codec.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Records = std::vector<journal::Record>;

fs::path Fixture(const std::string& name) {
  return SourceDir() / "tests" / "fixtures" / (name + ".jsonl");
}

Records FixtureRecords(const std::string& name) {
  Result<Records> records = journal::ReadExportFile(Fixture(name), journal::ChainKey());
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  return records.ok() ? *records : Records{};
}

// What a forger without a key writes after editing: seq renumbered 1..n, every prev_hash and
// hash recomputed as a plain SHA-256 chain.
Records Rechained(Records records) {
  for (std::size_t i = 0; i < records.size(); ++i) {
    journal::Record& r = records[i];
    r.seq = i + 1;
    r.chain_mode = journal::ChainMode::kSha256;
    r.prev_hash = i == 0 ? Digest{} : records[i - 1].hash;
    r.hash = journal::ComputeRecordHash(r, journal::ChainKey());
  }
  return records;
}

// The record at `seq` (1-based, of the untouched fixture) turned into an event of `type`
// with `payload`, keeping its envelope.
journal::Record Forged(const Records& records, std::uint64_t seq, std::string type,
                       std::string payload) {
  journal::Record r = records[seq - 1];
  r.type = std::move(type);
  r.payload = std::move(payload);
  return r;
}

// Records `first`..`last` (seq, inclusive) of the untouched fixture removed.
Records Deleted(Records records, std::uint64_t first, std::uint64_t last) {
  records.erase(records.begin() + static_cast<std::ptrdiff_t>(first - 1),
                records.begin() + static_cast<std::ptrdiff_t>(last));
  return records;
}

// `backout ARGS...` with no key in the environment.
ProcessResult Backout(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BackoutBinary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess({.argv = argv, .env = {{"BACKOUT_JOURNAL_KEY", ""}}});
}

// A journal holding `records` as a run, written straight through the journal library.
class ForgedJournal {
 public:
  explicit ForgedJournal(const Records& records) : run_id_(records.front().run_id) {
    const Status imported = journal::Journal(dir()).ImportRun({records});
    EXPECT_TRUE(imported.ok()) << imported.ToString();
  }
  fs::path dir() const { return tmp_.path() / "journal"; }
  ProcessResult Verify(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"verify", run_id_, "--journal", dir().string()};
    args.insert(args.end(), more.begin(), more.end());
    return Backout(args);
  }

 private:
  TempDir tmp_;
  std::string run_id_;
};

TEST(VerifyDecisions, EveryFixtureVerifiesAndSaysWhatWasChecked) {
  for (const std::string name :
       {"crashed-resumed", "approved-by-another", "failed-always", "aborted", "in-doubt-resolved"}) {
    SCOPED_TRACE(name);
    const ForgedJournal journal(FixtureRecords(name));
    const ProcessResult text = journal.Verify();
    EXPECT_EQ(text.exit_code, 0) << Show(text);
    EXPECT_TRUE(Contains(text.out, "hash chain intact, every event an allowed transition, every "
                                   "decision ("))
        << Show(text);
    EXPECT_TRUE(Contains(text.out, ") re-derived from the journaled plan\nsignatures: none"))
        << Show(text);
    EXPECT_TRUE(Contains(text.out, "\nhead hash ")) << Show(text);

    const ProcessResult as_json = journal.Verify({"--json"});
    ASSERT_EQ(as_json.exit_code, 0) << Show(as_json);
    const json result = json::parse(as_json.out);
    EXPECT_EQ(result["ok"], true);
    EXPECT_EQ(result["chain"], "sha256");
    EXPECT_EQ(result["checks"], json({"hash_chain", "transitions", "decisions"}));
    EXPECT_GT(result["decisions_checked"].get<int>(), 0);
    EXPECT_EQ(result["events"], FixtureRecords(name).size());
    EXPECT_EQ(result["head"], ToHex(FixtureRecords(name).back().hash));
    EXPECT_TRUE(result["error"].is_null());
  }
}

TEST(VerifyDecisions, JsonWithExpectHeadListsThatCheckToo) {
  const Records records = FixtureRecords("aborted");
  const ForgedJournal journal(records);
  const ProcessResult r = journal.Verify({"--json", "--expect-head", ToHex(records.back().hash)});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(json::parse(r.out)["checks"],
            json({"hash_chain", "transitions", "decisions", "expected_head"}));

  const ProcessResult wrong =
      journal.Verify({"--json", "--expect-head", ToHex(records.front().hash)});
  EXPECT_EQ(wrong.exit_code, 4) << Show(wrong);
  const json result = json::parse(wrong.out);
  EXPECT_EQ(result["ok"], false);
  EXPECT_EQ(result["checks"], json({"hash_chain", "transitions", "decisions"}));
  EXPECT_TRUE(Contains(result["error"]["message"], "does not match the expected")) << wrong.out;
}

struct TamperCase {
  std::string name;
  std::string fixture;
  std::function<Records(const Records&)> edit;  // on the untouched fixture's records
  std::string event;    // "event #N Type", as verify names it
  std::string derived;  // what the plan decides there; empty: a transition the tables refuse
};

const std::vector<TamperCase>& TamperCases() {
  static const std::vector<TamperCase> cases = {
      {"deleted_approval", "approved-by-another",
       // #11 ApprovalGranted via approve: drop-media (#13, now #12) starts past the gate.
       [](const Records& r) { return Deleted(r, 11, 11); }, "event #12 StepStarted",
       "AwaitApproval confirm"},
      {"approval_never_requested", "approved-by-another",
       // #8 ApprovalRequested and #9 RunPaused gone: `approve` of a gate that never asked.
       [](const Records& r) { return Deleted(r, 8, 9); }, "event #9 ApprovalGranted",
       "AwaitApproval confirm; the step was not awaiting approval"},
      {"skipped_step", "approved-by-another",
       // backup's #6 StepStarted and #7 StepSucceeded gone: the gate is asked before it.
       [](const Records& r) { return Deleted(r, 6, 7); }, "event #6 ApprovalRequested",
       "StartStep backup attempt 1"},
      {"resolution_forged_where_the_check_decides", "crashed-resumed",
       // #17 StepChecked (the check found the row absent) replaced by a pause for an operator
       // and a resolve, as if the step had no check.
       [](const Records& r) {
         Records out(r.begin(), r.begin() + 16);
         out.push_back(Forged(r, 17, "RunPaused", R"({"reason":"in_doubt","step":"record-rollback"})"));
         out.push_back(Forged(r, 17, "StepResolved", R"({"applied":false,"step":"record-rollback"})"));
         out.push_back(Forged(r, 17, "RunResumed", R"({"plan_file_note":"unchanged"})"));
         out.insert(out.end(), r.begin() + 17, r.end());
         return out;
       },
       "event #17 RunPaused", "RunCheck record-rollback"},
      {"resolution_forged_to_applied", "in-doubt-resolved",
       // #8 resolved "not applied" turned into "applied": the re-run (#10) is not allowed.
       [](const Records& r) {
         Records out = r;
         out[7] = Forged(r, 8, "StepResolved", R"({"applied":true,"step":"append-line"})");
         return out;
       },
       "event #10 StepStarted", ""},
      {"outcome_of_a_step_never_started", "approved-by-another",
       [](const Records& r) { return Deleted(r, 6, 6); }, "event #6 StepSucceeded", ""},
  };
  return cases;
}

void PrintTo(const TamperCase& c, std::ostream* os) { *os << c.name; }

class RechainedTamper : public ::testing::TestWithParam<TamperCase> {};

TEST_P(RechainedTamper, VerifyAndImportExit4NamingTheEvent) {
  // Given a fixture edited and re-chained as a forger without a key would,
  const TamperCase& c = GetParam();
  const Records forged = Rechained(c.edit(FixtureRecords(c.fixture)));
  const ForgedJournal journal(forged);

  // verify refuses it with exit 4, naming the event (and, for a decision, both sides),
  const ProcessResult verify = journal.Verify();
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_TRUE(Contains(verify.err, "backout: error: verify failed: ")) << Show(verify);
  EXPECT_TRUE(Contains(verify.err, c.event)) << Show(verify);
  if (!c.derived.empty()) {
    EXPECT_TRUE(Contains(verify.err, "recorded " + c.event.substr(c.event.rfind(' ') + 1)))
        << Show(verify);
    EXPECT_TRUE(Contains(verify.err, "derived " + c.derived)) << Show(verify);

    const ProcessResult as_json = journal.Verify({"--json"});
    EXPECT_EQ(as_json.exit_code, 4) << Show(as_json);
    const json result = json::parse(as_json.out);
    EXPECT_EQ(result["ok"], false);
    EXPECT_EQ(result["checks"], json({"hash_chain", "transitions"}));
    EXPECT_EQ(fmt::format("event #{} {}", result["error"]["seq"].get<int>(),
                          result["error"]["event_type"].get<std::string>()),
              c.event);
    EXPECT_TRUE(Contains(result["error"]["derived"], c.derived)) << as_json.out;
  }

  // and so does import, creating nothing.
  Result<std::string> text = journal::ExportRecords(forged);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  TempDir tmp;
  WriteFile(tmp.path() / "forged.jsonl", *text);
  const ProcessResult imported = Backout({"import", (tmp.path() / "forged.jsonl").string(),
                                          "--journal", (tmp.path() / "journal").string()});
  EXPECT_EQ(imported.exit_code, 4) << Show(imported);
  EXPECT_TRUE(Contains(imported.err, "import refused")) << Show(imported);
  EXPECT_TRUE(Contains(imported.err, c.event)) << Show(imported);
  EXPECT_FALSE(fs::exists(tmp.path() / "journal" / forged.front().run_id));

  // replay --file calls a decision that differs a divergence.
  if (!c.derived.empty()) {
    const ProcessResult replay = Backout({"replay", "--file", (tmp.path() / "forged.jsonl").string()});
    EXPECT_EQ(replay.exit_code, 1) << Show(replay);
    EXPECT_TRUE(Contains(replay.out, "diverges at " + c.event)) << Show(replay);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RechainedTamper, ::testing::ValuesIn(TamperCases()),
                         [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace backout::testing
