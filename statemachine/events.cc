#include "statemachine/events.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>
#include <vector>

namespace backout::sm {

// Enum <-> JSON string; an unknown string throws (caught in DecodePayload), naming the field
// and the strings it may hold.
template <typename E, std::size_t N>
struct EnumNames {
  std::string_view field;
  std::array<std::pair<E, std::string_view>, N> entries;

  std::string_view Name(E e) const {
    for (const auto& [value, name] : entries) {
      if (value == e) return name;
    }
    return "?";
  }
  E Parse(const std::string& s) const {
    for (const auto& [value, name] : entries) {
      if (name == s) return value;
    }
    std::vector<std::string_view> allowed;
    for (const auto& entry : entries) allowed.push_back(entry.second);
    throw std::invalid_argument(fmt::format("{}: unknown value '{}' (one of: {})", field, s,
                                            fmt::join(allowed, ", ")));
  }
};

namespace {
constexpr EnumNames<StepChecked::Finding, 3> kFindings{"finding", {{
    {StepChecked::Finding::kPresent, "present"},
    {StepChecked::Finding::kAbsent, "absent"},
    {StepChecked::Finding::kUnknown, "unknown"},
}}};
constexpr EnumNames<RunPaused::Reason, 5> kPauseReasons{"reason", {{
    {RunPaused::Reason::kApproval, "approval"},
    {RunPaused::Reason::kInDoubt, "in_doubt"},
    {RunPaused::Reason::kSignal, "signal"},
    {RunPaused::Reason::kStepFailed, "step_failed"},
    {RunPaused::Reason::kLocked, "locked"},
}}};
constexpr EnumNames<RunFinished::Ending, 3> kEndings{"outcome", {{
    {RunFinished::Ending::kSucceeded, "succeeded"},
    {RunFinished::Ending::kFailed, "failed"},
    {RunFinished::Ending::kAborted, "aborted"},
}}};
constexpr EnumNames<ApprovalGranted::Via, 3> kVias{"via", {{
    {ApprovalGranted::Via::kPrompt, "prompt"},
    {ApprovalGranted::Via::kApproveFlag, "--approve"},
    {ApprovalGranted::Via::kApproveCommand, "approve"},
}}};
constexpr EnumNames<RunResumed::PlanFileNote, 3> kPlanFileNotes{"plan_file_note", {{
    {RunResumed::PlanFileNote::kUnchanged, "unchanged"},
    {RunResumed::PlanFileNote::kChanged, "changed"},
    {RunResumed::PlanFileNote::kMissing, "missing"},
}}};

// Type names in the order of the EventBody alternatives.
constexpr std::array<std::string_view, std::variant_size_v<EventBody>> kTypeNames = {
    "RunStarted",     "StepStarted",  "StepSucceeded",     "StepFailed",
    "StepSkipped",    "StepInDoubt",  "StepChecked",       "StepResolved",
    "ApprovalRequested", "ApprovalGranted", "RunPaused",   "RunResumed",
    "AbortRequested", "RunFinished",  "NoteAdded",         "TriageRecorded",
    "StepCheckpoint"};
}  // namespace

constexpr EnumNames<PreflightRecord::Mode, 3> kPreflightModes{"mode", {{
    {PreflightRecord::Mode::kNotRun, "not_run"},
    {PreflightRecord::Mode::kChecked, "checked"},
    {PreflightRecord::Mode::kSkipped, "skipped"},
}}};
// The names of each journaled enum; ToString and the JSON (de)serialisation below use them.
constexpr const auto& NamesOf(StepChecked::Finding) { return kFindings; }
constexpr const auto& NamesOf(RunPaused::Reason) { return kPauseReasons; }
constexpr const auto& NamesOf(RunFinished::Ending) { return kEndings; }
constexpr const auto& NamesOf(ApprovalGranted::Via) { return kVias; }
constexpr const auto& NamesOf(RunResumed::PlanFileNote) { return kPlanFileNotes; }
constexpr const auto& NamesOf(PreflightRecord::Mode) { return kPreflightModes; }

std::string_view ToString(StepChecked::Finding f) { return NamesOf(f).Name(f); }
std::string_view ToString(RunPaused::Reason r) { return NamesOf(r).Name(r); }
std::string_view ToString(RunFinished::Ending e) { return NamesOf(e).Name(e); }
std::string_view ToString(ApprovalGranted::Via v) { return NamesOf(v).Name(v); }
std::string_view ToString(RunResumed::PlanFileNote n) { return NamesOf(n).Name(n); }
std::string_view ToString(PreflightRecord::Mode m) { return NamesOf(m).Name(m); }

// Found by argument-dependent lookup for every enum that has a NamesOf.
template <typename E>
  requires requires(E e) { NamesOf(e); }
void to_json(nlohmann::json& j, E e) {
  j = NamesOf(e).Name(e);
}
template <typename E>
  requires requires(E e) { NamesOf(e); }
void from_json(const nlohmann::json& j, E& e) {
  e = NamesOf(e).Parse(j.get<std::string>());
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PreflightCheck, target, steps, check)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PreflightRecord, mode, checks)

namespace {
// `preflight` is journaled only when preflight ran or was skipped, so an event without one
// has the payload it had before preflight existed; absent, it decodes as kNotRun.
void AddPreflight(nlohmann::json& j, const PreflightRecord& preflight) {
  if (preflight.mode != PreflightRecord::Mode::kNotRun) j["preflight"] = preflight;
}
PreflightRecord PreflightOf(const nlohmann::json& j) {
  const auto it = j.find("preflight");
  return it == j.end() ? PreflightRecord{} : it->get<PreflightRecord>();
}
}  // namespace

// Fields added after the first release decode with their defaults when absent.
void to_json(nlohmann::json& j, const RunStarted& e) {
  j = {{"plan_name", e.plan_name},     {"plan_file", e.plan_file}, {"plan_text", e.plan_text},
       {"plan_sha256", e.plan_sha256}, {"incident", e.incident},   {"step_ids", e.step_ids},
       {"rehearsal", e.rehearsal}};
  AddPreflight(j, e.preflight);
  // Only when there are some: a run without captures has the payload it had before them.
  if (!e.captures.empty()) j["captures"] = e.captures;
}
void from_json(const nlohmann::json& j, RunStarted& e) {
  e.plan_name = j.value("plan_name", std::string());
  e.plan_file = j.value("plan_file", std::string());
  e.plan_text = j.value("plan_text", std::string());
  e.plan_sha256 = j.value("plan_sha256", std::string());
  e.incident = j.value("incident", std::string());
  e.step_ids = j.value("step_ids", std::vector<std::string>());
  e.rehearsal = j.value("rehearsal", false);
  e.preflight = PreflightOf(j);
  e.captures = j.value("captures", nlohmann::json::array());
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StepStarted, step, attempt)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LogDigest, file, bytes, sha256)
namespace {
// `log` only when the attempt wrote one: an outcome without a log has the payload it had
// before the field existed, and such a payload decodes with none.
void AddLog(nlohmann::json& j, const std::optional<LogDigest>& log) {
  if (log) j["log"] = *log;
}
std::optional<LogDigest> LogFrom(const nlohmann::json& j) {
  const auto it = j.find("log");
  return it == j.end() ? std::nullopt : std::optional<LogDigest>(it->get<LogDigest>());
}
}  // namespace
void to_json(nlohmann::json& j, const StepSucceeded& e) {
  j = {{"step", e.step}, {"attempt", e.attempt}, {"outputs", e.outputs}};
  AddLog(j, e.log);
}
void from_json(const nlohmann::json& j, StepSucceeded& e) {
  j.at("step").get_to(e.step);
  j.at("attempt").get_to(e.attempt);
  j.at("outputs").get_to(e.outputs);
  e.log = LogFrom(j);
}
void to_json(nlohmann::json& j, const StepFailed& e) {
  j = {{"step", e.step}, {"attempt", e.attempt}, {"error", e.error}, {"outputs", e.outputs}};
  AddLog(j, e.log);
}
void from_json(const nlohmann::json& j, StepFailed& e) {
  j.at("step").get_to(e.step);
  j.at("attempt").get_to(e.attempt);
  j.at("error").get_to(e.error);
  j.at("outputs").get_to(e.outputs);
  e.log = LogFrom(j);
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StepCheckpoint, step, attempt, checkpoint)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StepSkipped, step, reason)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StepInDoubt, step, attempt)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StepChecked, step, finding, detail)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StepResolved, step, applied)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ApprovalRequested, step, prompt)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ApprovalGranted, step, phrase, via)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RunPaused, reason, step)
void to_json(nlohmann::json& j, const RunResumed& e) {
  j = {{"plan_file_note", e.plan_file_note}};
  AddPreflight(j, e.preflight);
  // Only when there are some: a run without captures has the payload it had before them.
  if (!e.captures.empty()) j["captures"] = e.captures;
}
void from_json(const nlohmann::json& j, RunResumed& e) {
  j.at("plan_file_note").get_to(e.plan_file_note);
  e.preflight = PreflightOf(j);
  e.captures = j.value("captures", nlohmann::json::array());
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AbortRequested, reason)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RunFinished, outcome)
// queue_id only when there is one: a direct note's payload is what it always was.
void to_json(nlohmann::json& j, const NoteAdded& note) {
  j = {{"text", note.text}};
  if (!note.queue_id.empty()) j["queue_id"] = note.queue_id;
}
void from_json(const nlohmann::json& j, NoteAdded& note) {
  j.at("text").get_to(note.text);
  note.queue_id = j.value("queue_id", std::string());
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TriageRecorded, issue, severity, action, note)

std::string_view TypeName(const EventBody& body) { return kTypeNames[body.index()]; }

std::optional<StepLogOf> LogOf(const EventBody& body) {
  return std::visit(
      [](const auto& b) -> std::optional<StepLogOf> {
        if constexpr (requires { b.log; }) {
          if (b.log) return StepLogOf{b.step, b.attempt, *b.log};
        }
        return std::nullopt;
      },
      body);
}

nlohmann::json EncodePayload(const EventBody& body) {
  return std::visit([](const auto& b) { return nlohmann::json(b); }, body);
}

namespace {
template <std::size_t I = 0>
EventBody DecodeAlternative(std::size_t index, const nlohmann::json& payload) {
  if constexpr (I < std::variant_size_v<EventBody>) {
    if (I == index) return EventBody(std::in_place_index<I>,
                                     payload.get<std::variant_alternative_t<I, EventBody>>());
    return DecodeAlternative<I + 1>(index, payload);
  } else {
    throw std::logic_error("event type index out of range");
  }
}
}  // namespace

Result<EventBody> DecodePayload(std::string_view type, const nlohmann::json& payload) {
  const std::size_t index = static_cast<std::size_t>(
      std::find(kTypeNames.begin(), kTypeNames.end(), type) - kTypeNames.begin());
  if (index == kTypeNames.size()) {
    return Status::Corruption(fmt::format("unknown event type '{}'", type));
  }
  if (!payload.is_object()) {
    return Status::Corruption(fmt::format("{} payload is not a JSON object", type));
  }
  try {
    return DecodeAlternative(index, payload);
  } catch (const std::exception& e) {
    return Status::Corruption(fmt::format("{} payload does not decode: {}", type, e.what()));
  }
}

}  // namespace backout::sm
