#include "statemachine/events.h"

#include <gtest/gtest.h>

namespace backout::sm {
namespace {

using Via = ApprovalGranted::Via;
using FileNote = RunResumed::PlanFileNote;

// Every event type survives encode -> decode unchanged (compared through its encoding).
TEST(Events, RoundTripEveryType) {
  const std::vector<EventBody> bodies = {
      RunStarted{"p", "/x.yaml", "version: 1", "ab", "INC-1", {"a", "b"}, true},
      StepStarted{"a", 2},
      StepSucceeded{"a", 2, {{"path", "/b.db"}, {"bytes", 10}}},
      StepFailed{"a", 1, "boom", {{"exit_code", 3}}},
      StepSkipped{"a", "aborted"},
      StepInDoubt{"a", 1},
      StepChecked{"a", StepChecked::Finding::kAbsent, "0 rows"},
      StepResolved{"a", true},
      ApprovalRequested{"gate", "Drop it?"},
      ApprovalGranted{"gate", "GO", Via::kApproveFlag},
      RunPaused{RunPaused::Reason::kInDoubt, "a"},
      RunResumed{FileNote::kChanged},
      AbortRequested{"wrong plan"},
      RunFinished{RunFinished::Ending::kAborted},
      NoteAdded{"called the DBA"},
      TriageRecorded{"data_corruption", "critical", "rollback_now", "checksums differ"},
      StepCheckpoint{"a", 1, {{"upload_id", "u-1"}, {"part", 2}, {"etag", "\"e2\""}}},
  };
  ASSERT_EQ(bodies.size(), std::variant_size_v<EventBody>);
  for (const EventBody& body : bodies) {
    const nlohmann::json payload = EncodePayload(body);
    const Result<EventBody> back = DecodePayload(TypeName(body), payload);
    ASSERT_TRUE(back.ok()) << TypeName(body) << ": " << back.status().ToString();
    EXPECT_EQ(back->index(), body.index());
    EXPECT_EQ(EncodePayload(*back), payload) << TypeName(body);
  }
}

// An outcome carries the digest of its step's log; one without a log has the payload
// outcomes had before the field existed, and such an older payload decodes with none.
TEST(Events, OutcomesCarryTheirLogDigestAndOlderPayloadsDecodeWithout) {
  const LogDigest digest{"migrate.2.log", 12, std::string(64, 'a')};
  const std::vector<EventBody> with_log = {
      StepSucceeded{"migrate", 2, {{"exit_code", 0}}, digest},
      StepFailed{"migrate", 2, "exit 3", {{"exit_code", 3}}, digest}};
  for (const EventBody& body : with_log) {
    const nlohmann::json payload = EncodePayload(body);
    EXPECT_EQ(payload["log"],
              nlohmann::json({{"file", "migrate.2.log"}, {"bytes", 12}, {"sha256", digest.sha256}}))
        << TypeName(body);
    const Result<EventBody> back = DecodePayload(TypeName(body), payload);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    const std::optional<StepLogOf> log = LogOf(*back);
    ASSERT_TRUE(log.has_value()) << TypeName(body);
    EXPECT_EQ(log->step, "migrate");
    EXPECT_EQ(log->attempt, 2);
    EXPECT_EQ(log->digest, digest);
  }

  // As journaled before the field: no "log" key, and it decodes without a digest.
  const nlohmann::json older = {{"step", "migrate"}, {"attempt", 1}, {"outputs", {{"x", 1}}}};
  EXPECT_EQ(EncodePayload(StepSucceeded{"migrate", 1, {{"x", 1}}}), older);
  const Result<EventBody> back = DecodePayload("StepSucceeded", older);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(std::get<StepSucceeded>(*back).log.has_value());
  EXPECT_FALSE(LogOf(*back).has_value());
  nlohmann::json older_failure = older;
  older_failure["error"] = "boom";
  const Result<EventBody> failed = DecodePayload("StepFailed", older_failure);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_FALSE(std::get<StepFailed>(*failed).log.has_value());

  // Other events have no log; a mistyped digest is corruption.
  EXPECT_FALSE(LogOf(StepStarted{"migrate", 1}).has_value());
  nlohmann::json mistyped = EncodePayload(with_log[0]);
  mistyped["log"]["bytes"] = "twelve";
  EXPECT_EQ(DecodePayload("StepSucceeded", mistyped).status().code(), Code::kCorruption);
}

// A RunStarted journaled before `rehearsal` existed still decodes, as a normal run.
TEST(Events, RunStartedWithoutRehearsalFieldIsNotARehearsal) {
  nlohmann::json payload = EncodePayload(RunStarted{"p", "/x.yaml", "t", "ab", "", {"a"}, true});
  payload.erase("rehearsal");
  const Result<EventBody> back = DecodePayload("RunStarted", payload);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(std::get<RunStarted>(*back).rehearsal);
}

// A preflight record round-trips in RunStarted and RunResumed; without one (kNotRun) the
// payloads are those of events from before preflight existed, which decode to kNotRun.
TEST(Events, PreflightIsJournaledOnlyWhenItRanOrWasSkipped) {
  const PreflightRecord checked{.mode = PreflightRecord::Mode::kChecked,
                                .checks = {{"appdb", {"a", "b"}, "sqlite database app.db"}}};
  RunStarted started{"p", "/x.yaml", "t", "ab", "", {"a", "b"}, false, checked};
  const nlohmann::json payload = EncodePayload(started);
  EXPECT_EQ(payload["preflight"]["mode"], "checked");
  EXPECT_EQ(payload["preflight"]["checks"][0]["steps"], nlohmann::json({"a", "b"}));
  const Result<EventBody> back = DecodePayload("RunStarted", payload);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodePayload(*back), payload);

  started.preflight = {};
  EXPECT_FALSE(EncodePayload(started).contains("preflight"));
  const RunResumed resumed{FileNote::kUnchanged,
                           {.mode = PreflightRecord::Mode::kSkipped, .checks = {}}};
  EXPECT_EQ(EncodePayload(resumed)["preflight"]["mode"], "skipped");
  EXPECT_EQ(EncodePayload(RunResumed{FileNote::kUnchanged}),
            nlohmann::json({{"plan_file_note", "unchanged"}}));
  const Result<EventBody> old = DecodePayload("RunResumed", {{"plan_file_note", "missing"}});
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(std::get<RunResumed>(*old).preflight.mode, PreflightRecord::Mode::kNotRun);
  const Result<EventBody> bad = DecodePayload(
      "RunResumed", {{"plan_file_note", "unchanged"}, {"preflight", {{"mode", "maybe"}}}});
  EXPECT_EQ(bad.status().code(), Code::kCorruption);
}

// Journals written before the enums existed hold the same strings, and decode to them.
TEST(Events, JournaledStringsDecodeToTheirEnums) {
  const std::vector<std::pair<std::string, ApprovalGranted::Via>> vias = {
      {"prompt", ApprovalGranted::Via::kPrompt},
      {"--approve", ApprovalGranted::Via::kApproveFlag},
      {"approve", ApprovalGranted::Via::kApproveCommand}};
  for (const auto& [text, via] : vias) {
    const nlohmann::json payload = {{"step", "a"}, {"phrase", "GO"}, {"via", text}};
    const Result<EventBody> body = DecodePayload("ApprovalGranted", payload);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    EXPECT_EQ(std::get<ApprovalGranted>(*body).via, via) << text;
    EXPECT_EQ(EncodePayload(*body), payload) << text;
  }
  const std::vector<std::pair<std::string, RunResumed::PlanFileNote>> notes = {
      {"unchanged", RunResumed::PlanFileNote::kUnchanged},
      {"changed", RunResumed::PlanFileNote::kChanged},
      {"missing", RunResumed::PlanFileNote::kMissing}};
  for (const auto& [text, note] : notes) {
    const nlohmann::json payload = {{"plan_file_note", text}};
    const Result<EventBody> body = DecodePayload("RunResumed", payload);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    EXPECT_EQ(std::get<RunResumed>(*body).plan_file_note, note) << text;
    EXPECT_EQ(EncodePayload(*body), payload) << text;
  }
}

struct BadPayload {
  std::string type;
  nlohmann::json payload;
  std::string expect;
};

TEST(Events, DecodeFailuresAreCorruption) {
  const std::vector<BadPayload> cases = {
      {"NoSuchEvent", nlohmann::json::object(), "unknown event type 'NoSuchEvent'"},
      {"StepStarted", nlohmann::json::array(), "not a JSON object"},
      {"StepStarted", {{"step", "a"}}, "StepStarted payload does not decode"},
      {"StepStarted", {{"step", "a"}, {"attempt", "one"}}, "does not decode"},
      {"RunFinished", {{"outcome", "exploded"}}, "unknown value 'exploded'"},
      {"StepChecked", {{"step", "a"}, {"finding", "maybe"}, {"detail", ""}}, "unknown value"},
      {"ApprovalGranted", {{"step", "a"}, {"phrase", "GO"}, {"via", "email"}},
       "ApprovalGranted payload does not decode: via: unknown value 'email' (one of: prompt, "
       "--approve, approve)"},
      {"RunResumed", {{"plan_file_note", "moved"}},
       "RunResumed payload does not decode: plan_file_note: unknown value 'moved' (one of: "
       "unchanged, changed, missing)"},
  };
  for (const BadPayload& c : cases) {
    const Result<EventBody> r = DecodePayload(c.type, c.payload);
    ASSERT_FALSE(r.ok()) << c.type;
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace backout::sm
