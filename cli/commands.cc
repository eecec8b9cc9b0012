#include "cli/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "adapters/adapter.h"
#include "base/env.h"
#include "base/file_util.h"
#include "base/json_text.h"
#include "base/sha256.h"
#include "base/suggest.h"
#include "base/time.h"
#include "base/utf8.h"
#include "base/write_behind.h"
#include "cli/plan_preview.h"
#include "cli/render.h"
#include "cli/replay_render.h"
#include "cli/report_spool.h"
#include "cli/step_logs.h"
#include "capture/find.h"
#include "engine/engine.h"
#include "engine/plan_check.h"
#include "engine/preflight.h"
#include "engine/rehearsal.h"
#include "engine/session.h"
#include "history/run_history.h"
#include "engine/target_locks.h"
#include "journal/export.h"
#include "journal/head_file.h"
#include "journal/note_queue.h"
#include "journal/run_index.h"
#include "report/render.h"
#include "statemachine/operator.h"
#include "statemachine/replay.h"

namespace backout::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitPaused = 3;
constexpr int kExitJournal = 4;
constexpr int kExitLocked = 5;

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kFailedPrecondition: return kExitUsage;
    case Code::kCorruption:
    case Code::kIOError: return kExitJournal;  // the journal is the only I/O at this level
    case Code::kLocked: return kExitLocked;
    default: return kExitRunFailed;
  }
}


int ExitCodeFor(sm::RunStatus status) {
  switch (status) {
    case sm::RunStatus::kSucceeded: return kExitOk;
    case sm::RunStatus::kPaused: return kExitPaused;
    default: return kExitRunFailed;
  }
}


// Test-only fault injection: BACKOUT_CRASH_AFTER_APPENDS=N makes the process SIGKILL itself
// right after its Nth durable journal append (docs/cli.md).
std::function<void(int)> CrashHook() {
  const std::optional<std::string> n = Env::Default()->GetVar("BACKOUT_CRASH_AFTER_APPENDS");
  if (!n || n->empty()) return {};
  const int target = std::atoi(n->c_str());
  return [target](int appends) {
    if (appends == target) std::raise(SIGKILL);
  };
}

engine::SessionOptions SessionFor(const Common& c) {
  return engine::SessionOptions{.env = Env::Default(),
                                .who = {c.operator_name, Env::Default()->HostName()},
                                .after_append = CrashHook()};
}

// Full check of a plan file; prints diagnostics. nullopt when it has errors.
// With a non-empty `journal_dir`, a plan with paths into it is refused too. `vars` gives the
// `${VAR}`s (default: the environment).
std::optional<plan::Plan> LoadPlan(const std::string& plan_file,
                                   const adapters::Registry& registry,
                                   const std::string& journal_dir = "",
                                   const plan::VarLookup& vars = EnvLookup()) {
  engine::PlanCheck check = CheckPlanFile(plan_file, registry, vars, journal_dir);
  PrintDiagnostics(check.diagnostics);
  return std::move(check.plan);
}

std::string NewRunId() { return journal::NewRunId(Env::Default()->NowMicros()); }

std::optional<std::string> AskOnTerminal(const std::string& prompt) {
  std::cout << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  return line;
}

// `registry` is the one whose adapters may already hold the run's target locks (Run takes
// them before the run is created); a fresh one is made when none is given.
int DriveSession(const Common& c, engine::RunSession& session,
                 const std::map<std::string, std::string>& approvals,
                 const adapters::Registry* registry = nullptr) {
  const adapters::Registry fresh =
      registry == nullptr ? adapters::Registry::Default() : adapters::Registry();
  engine::Progress progress(std::cout, isatty(STDOUT_FILENO) != 0);
  engine::DriveOptions options;
  options.registry = registry == nullptr ? &fresh : registry;
  options.approvals = approvals;
  if (isatty(STDIN_FILENO) != 0) options.ask = AskOnTerminal;
  options.progress = &progress;
  options.cancel = &CancelFlag();
  options.secrets = c.secrets;
  Result<sm::RunStatus> status = engine::Drive(session, options);
  if (!status.ok()) return Fail(status.status());
  return ExitCodeFor(*status);
}

// How the plan file on disk compares with the journaled text.
sm::RunResumed::PlanFileNote PlanFileNote(const sm::RunState& state) {
  using Note = sm::RunResumed::PlanFileNote;
  // The path is journaled with bytes that are not UTF-8 marked (base/utf8.h).
  Result<std::string> text = ReadFileToString(UnmarkInvalidUtf8(state.start.plan_file));
  if (!text.ok()) return Note::kMissing;
  return Sha256Hex(*text) == state.start.plan_sha256 ? Note::kUnchanged : Note::kChanged;
}

// Opens a run for writing; prints the error and sets *exit_code on failure.
std::unique_ptr<engine::RunSession> OpenForWrite(const Common& c, const std::string& run_id,
                                                 int* exit_code) {
  journal::Journal journal(c.journal_dir, c.journal_key, c.signing_key);
  Result<std::unique_ptr<engine::RunSession>> session =
      engine::RunSession::Open(journal, run_id, SessionFor(c));
  if (!session.ok()) {
    *exit_code = Fail(session.status());
    return nullptr;
  }
  return std::move(session).value();
}

// Journals what `command` becomes in the session's run (sm::Accept), or prints why it is
// refused; returns the exit code.
int AppendAccepted(engine::RunSession& session, const sm::OperatorCommand& command) {
  Result<sm::EventBatch> events =
      sm::Accept(session.state(), session.plan(), session.run_id(), command);
  if (!events.ok()) return Fail(events.status());
  Status appended = session.Append(std::move(events).value());
  return appended.ok() ? kExitOk : Fail(appended);
}

// Journals `events` (accepted for a resume or an abort, which resumes) once the run can go
// on: the variables the plan uses are present (they are never journaled); a plan file that
// is no longer the journaled one is warned about.
int AppendToContinue(engine::RunSession& session, sm::RunResumed::PlanFileNote plan_file,
                     sm::EventBatch events) {
  const adapters::Registry registry = adapters::Registry::Default();
  std::vector<plan::Diagnostic> diags =
      engine::CheckParsedPlan(session.plan(), registry, EnvLookup());
  const bool errors = std::any_of(diags.begin(), diags.end(), [](const plan::Diagnostic& d) {
    return d.severity == plan::Diagnostic::Severity::kError;
  });
  if (errors) {
    PrintDiagnostics(diags);
    return kExitUsage;
  }
  if (plan_file != sm::RunResumed::PlanFileNote::kUnchanged) {
    std::cerr << fmt::format(
        "backout: warning: the plan file {} is {} since the run started; continuing with the "
        "plan journaled then (sha256 {})\n",
        session.state().start.plan_file, sm::ToString(plan_file),
        session.state().start.plan_sha256);
  }
  Status appended = session.Append(std::move(events));
  return appended.ok() ? kExitOk : Fail(appended);
}

// A key was given, but this run's chain is plain SHA-256: say that it proves less.
void WarnIfUnkeyed(const Common& c, const std::string& run_id, journal::ChainMode chain_mode) {
  if (c.journal_key.empty() || chain_mode != journal::ChainMode::kSha256) return;
  std::cerr << fmt::format(
      "backout: warning: BACKOUT_JOURNAL_KEY is set, but run {} is not keyed: its plain SHA-256 "
      "chain can be rewritten whole by anyone who can write the journal; compare its head with "
      "--expect-head\n",
      run_id);
}

std::string_view DescribeChain(journal::ChainMode mode) {
  return mode == journal::ChainMode::kHmacSha256 ? "keyed hash chain (HMAC-SHA256)"
                                                 : "hash chain";
}

// The captures `plan` refers to, found in the journal (capture/find.h): what `run` journals
// in RunStarted. An empty array for a plan that refers to none.
Result<nlohmann::json> ResolveCaptures(const Common& c, const plan::Plan& plan) {
  if (capture::NamesUsed(plan).empty()) return nlohmann::json::array();
  const journal::Journal journal(c.journal_dir, c.journal_key);
  return capture::ResolveCaptures(journal, engine::DefaultPlanVocabulary(), plan);
}

// `captures`: those the plan refers to, resolved (RunStarted::captures); nullptr to find them
// in the journal now (`validate --connect`), a capture that cannot be found being a failed
// finding.
engine::PreflightResult PreflightPlan(const Common& c, const plan::Plan& plan,
                                      const fs::path& plan_dir,
                                      const adapters::Registry& registry,
                                      const nlohmann::json* captures = nullptr) {
  Result<nlohmann::json> found = captures != nullptr ? Result<nlohmann::json>(*captures)
                                                     : ResolveCaptures(c, plan);
  engine::PreflightResult result = engine::Preflight(
      plan, engine::PreflightOptions{.registry = &registry,
                                     .env = Env::Default(),
                                     .base_dir = plan_dir,
                                     .cancel = &CancelFlag(),
                                     .secrets = c.secrets,
                                     .captures = found.ok() ? *found : nlohmann::json::array()});
  if (!found.ok()) {
    std::vector<std::string> steps;
    for (const capture::CaptureUse& use : capture::UsesOf(plan)) {
      if (steps.empty() || steps.back() != use.step) steps.push_back(use.step);
    }
    result.items.push_back({"", std::move(steps), "captures", found.status()});
  }
  return result;
}

// What `run` and `resume` journal of preflight: the passed checks, or that the operator
// skipped it. nullopt when a check failed: each is printed, and the caller refuses (exit 2)
// before anything is journaled.
std::optional<sm::PreflightRecord> PreflightBeforeFirstEffect(
    const Common& c, const plan::Plan& plan, const fs::path& plan_dir,
    const adapters::Registry& registry, const nlohmann::json& captures, bool skip,
    std::string_view refused) {
  if (skip) {
    std::cerr << fmt::format("backout: warning: preflight skipped (--skip-preflight, journaled "
                             "as given by {})\n",
                             c.operator_name);
    return sm::PreflightRecord{.mode = sm::PreflightRecord::Mode::kSkipped, .checks = {}};
  }
  const engine::PreflightResult result = PreflightPlan(c, plan, plan_dir, registry, &captures);
  if (result.ok()) return result.Record();
  for (const engine::PreflightItem& item : result.items) {
    if (!item.status.ok()) {
      std::cerr << "backout: preflight failed: " << engine::DescribeFinding(item) << "\n";
    }
  }
  std::cerr << fmt::format(
      "backout: {}: {} preflight check{} failed; nothing was changed. Fix the cause, or give "
      "--skip-preflight to go on anyway (journaled)\n",
      refused, result.failed(), result.failed() == 1 ? "" : "s");
  return std::nullopt;
}

// The findings of `validate --connect --json`.
nlohmann::json FindingsJson(const engine::PreflightResult& result) {
  nlohmann::json findings = nlohmann::json::array();
  for (const engine::PreflightItem& item : result.items) {
    nlohmann::json f = {{"target", item.target},
                        {"steps", item.steps},
                        {"check", item.check},
                        {"ok", item.status.ok()}};
    if (!item.status.ok()) f["error"] = item.status.message();
    findings.push_back(std::move(f));
  }
  return findings;
}

nlohmann::json DiagnosticJson(const plan::Diagnostic& d) {
  const std::optional<std::string> hint = DidYouMeanIn(d.message);
  return {{"file", d.file},
          {"line", d.loc.line == 0 ? nlohmann::json(nullptr) : nlohmann::json(d.loc.line)},
          {"col", d.loc.col == 0 ? nlohmann::json(nullptr) : nlohmann::json(d.loc.col)},
          {"message", d.message},
          {"hint", hint ? nlohmann::json(*hint) : nlohmann::json(nullptr)}};
}

// The static part of `validate --json`: the plan (null when it has errors), its errors and
// warnings.
nlohmann::json PlanCheckToJson(const std::string& plan_file, const engine::PlanCheck& check) {
  nlohmann::json errors = nlohmann::json::array(), warnings = nlohmann::json::array();
  for (const plan::Diagnostic& d : check.diagnostics) {
    (d.severity == plan::Diagnostic::Severity::kError ? errors : warnings)
        .push_back(DiagnosticJson(d));
  }
  nlohmann::json plan = nullptr;
  if (check.plan) {
    nlohmann::json steps = nlohmann::json::array(), targets = nlohmann::json::array();
    for (const plan::Step& step : check.plan->steps) steps.push_back(step.id);
    for (const auto& [name, target] : check.plan->targets) targets.push_back(name);
    plan = {{"name", check.plan->name}, {"steps", std::move(steps)},
            {"targets", std::move(targets)}};
  }
  return {{"plan_file", plan_file},
          {"ok", check.ok()},
          {"plan", std::move(plan)},
          {"errors", std::move(errors)},
          {"warnings", std::move(warnings)}};
}

}  // namespace

int Fail(const Status& s) {
  std::cerr << "backout: error: " << s.message() << "\n";
  return ExitCodeFor(s);
}

engine::PlanCheck CheckPlanFile(const std::string& plan_file, const adapters::Registry& registry,
                                const plan::VarLookup& vars, const std::string& journal_dir) {
  Result<std::string> text = ReadFileToString(plan_file);
  if (!text.ok()) {
    engine::PlanCheck unreadable;
    unreadable.diagnostics.push_back({plan::Diagnostic::Severity::kError, plan_file, {},
                                      std::string(text.status().message())});
    return unreadable;
  }
  return engine::CheckPlanText(*text, plan_file, registry, vars, journal_dir);
}

void PrintDiagnostics(const std::vector<plan::Diagnostic>& diags) {
  for (const plan::Diagnostic& d : diags) std::cerr << d.ToString() << "\n";
}

std::atomic<bool>& CancelFlag() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

// `validate --json [--connect]`: one object on stdout, also for a plan with errors (then
// without preflight: "findings" is empty).
int ValidateJson(const Common& c, const std::string& plan_file, ValidateMode mode,
                 const adapters::Registry& registry) {
  const engine::PlanCheck check = CheckPlanFile(plan_file, registry, EnvLookup(), c.journal_dir);
  nlohmann::json out = PlanCheckToJson(plan_file, check);
  bool ok = check.ok();
  if (mode.connect) {
    nlohmann::json findings = nlohmann::json::array();
    if (check.plan) {
      const engine::PreflightResult result = PreflightPlan(
          c, *check.plan, fs::absolute(plan_file).lexically_normal().parent_path(), registry);
      findings = FindingsJson(result);
      ok = result.ok();
    }
    out["ok"] = ok;
    out["findings"] = std::move(findings);
  }
  std::cout << DumpJson(out, 2) << "\n";
  return ok ? kExitOk : kExitUsage;
}

}  // namespace

int Validate(const Common& c, const std::string& plan_file, ValidateMode mode) {
  const adapters::Registry registry = adapters::Registry::Default();
  if (mode.json) return ValidateJson(c, plan_file, mode, registry);
  std::optional<plan::Plan> plan = LoadPlan(plan_file, registry, c.journal_dir);
  if (!plan) return kExitUsage;
  if (!mode.connect) {
    std::cout << fmt::format("{}: ok: plan '{}', {} steps, {} targets\n", plan_file, plan->name,
                             plan->steps.size(), plan->targets.size());
    return kExitOk;
  }
  const engine::PreflightResult result = PreflightPlan(
      c, *plan, fs::absolute(plan_file).lexically_normal().parent_path(), registry);
  for (const engine::PreflightItem& item : result.items) {
    std::cout << "  " << engine::DescribeFinding(item) << "\n";
  }
  std::cout << (result.ok() ? fmt::format("{}: ok: plan '{}', {} steps, {} targets, {} "
                                          "preflight checks passed\n",
                                          plan_file, plan->name, plan->steps.size(),
                                          plan->targets.size(), result.items.size())
                            : fmt::format("{}: {} of {} preflight checks failed\n", plan_file,
                                          result.failed(), result.items.size()));
  return result.ok() ? kExitOk : kExitUsage;
}

int PlanPreview(const Common& c, const std::string& plan_file, bool json,
                const std::string& output_file) {
  const adapters::Registry registry = adapters::Registry::Default();
  std::optional<plan::Plan> plan = LoadPlan(plan_file, registry, c.journal_dir);
  if (!plan) return kExitUsage;
  return WritePreview(c, *plan, registry, {.json = json, .output_file = output_file});
}

namespace {

// What sm::CheckRunAgain needs of run `id`: its RunStarted and, if it finished, its
// RunFinished; nullopt for a rehearsal or a run of another plan than `plan_name`, which the
// check passes over whatever they hold (the scan stops at their first record). Any other run
// is read in one pass as any read is (chain and head checked), but only those two records are
// decoded, nothing is folded and nothing is kept of the others: `run` reads the runs of the
// journal before it starts, and one of them may hold a million events. A run succeeded
// exactly when it holds RunFinished succeeded (only notes and triage may follow it).
Result<std::optional<sm::EarlierRun>> EarlierRunOf(const journal::Journal& journal,
                                                   const std::string& id,
                                                   const std::string& plan_name) {
  const std::string finished_type(sm::TypeName(sm::RunFinished{}));
  std::optional<sm::RunStarted> start;
  std::optional<journal::Record> finished;
  std::uint64_t records = 0;
  std::int64_t last_event_us = 0;
  bool passed_over = false;
  Status scanned = journal.ScanRun(id, [&](const journal::Record& record) -> Status {
    ++records;
    last_event_us = record.time_us;
    if (records == 1) {
      Result<sm::Event> first = history::DecodeEvent(record);
      if (!first.ok()) return first.status().WithContext(fmt::format("run {}", id));
      const auto* started = std::get_if<sm::RunStarted>(&first->body);
      if (started == nullptr) {
        return Status::Corruption(
            fmt::format("run {}: its first event is {}, not RunStarted", id, record.type));
      }
      if (started->plan_name != plan_name || started->rehearsal) {
        passed_over = true;
        return Status::Cancelled("passed over");  // stops the scan: nothing more to know
      }
      start = *started;
    } else if (record.type == finished_type) {
      finished = record;
    }
    return Status::Ok();
  });
  if (passed_over) return std::optional<sm::EarlierRun>();
  if (!scanned.ok()) return scanned;
  // None: the "history was lost" error every read of the run gives.
  if (records == 0) return history::StateOfRecords(journal, id, {}).status();
  sm::RunStatus status = sm::RunStatus::kRunning;
  if (finished) {
    Result<sm::Event> event = history::DecodeEvent(*finished);
    if (!event.ok()) return event.status().WithContext(fmt::format("run {}", id));
    const auto* ending = std::get_if<sm::RunFinished>(&event->body);
    if (ending == nullptr) {
      return Status::Corruption(fmt::format("run {}: event #{} is not a {}", id, finished->seq,
                                            finished_type));
    }
    switch (ending->outcome) {
      case sm::RunFinished::Ending::kSucceeded: status = sm::RunStatus::kSucceeded; break;
      case sm::RunFinished::Ending::kFailed: status = sm::RunStatus::kFailed; break;
      case sm::RunFinished::Ending::kAborted: status = sm::RunStatus::kAborted; break;
    }
  }
  return std::optional<sm::EarlierRun>(sm::EarlierRun{.run_id = id,
                                                      .plan_name = start->plan_name,
                                                      .plan_sha256 = start->plan_sha256,
                                                      .rehearsal = start->rehearsal,
                                                      .status = status,
                                                      .last_event_us = last_event_us});
}

// What the run index says of a finished run, as sm::CheckRunAgain needs it: the fields of the
// `status --json` element its entry holds (RunToJson). nullopt when one is missing or not as
// RunToJson writes it; the run is then read instead.
std::optional<sm::EarlierRun> EarlierRunOfEntry(const journal::RunSummary& entry) {
  const nlohmann::json j = ParseJsonText(entry.json);
  if (!j.is_object()) return std::nullopt;
  const auto text = [&](const char* key) -> const std::string* {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* plan = text("plan");
  const std::string* sha256 = text("plan_sha256");
  const std::string* status = text("status");
  const std::string* last_event = text("last_event");
  const auto rehearsal = j.find("rehearsal");
  if (plan == nullptr || sha256 == nullptr || status == nullptr || last_event == nullptr ||
      rehearsal == j.end() || !rehearsal->is_boolean()) {
    return std::nullopt;
  }
  const std::optional<std::int64_t> last_event_us = ParseUtcMicros(*last_event);
  if (!last_event_us) return std::nullopt;
  for (const sm::RunStatus ending :
       {sm::RunStatus::kSucceeded, sm::RunStatus::kFailed, sm::RunStatus::kAborted}) {
    if (*status == sm::ToString(ending)) {
      return sm::EarlierRun{.run_id = entry.run_id,
                            .plan_name = *plan,
                            .plan_sha256 = *sha256,
                            .rehearsal = rehearsal->get<bool>(),
                            .status = ending,
                            .last_event_us = *last_event_us};
    }
  }
  return std::nullopt;  // the index holds finished runs only
}

// The runs of plan `plan_name` in the journal, for sm::CheckRunAgain. A finished run is taken
// from the run index (journal/run_index.h) while its entry names the stamp the run has, as
// `status` takes it; any other run is read (EarlierRunOf). The index is not rewritten here:
// `status` does that. A run that cannot be read is left out with a warning: whether it
// succeeded is not known.
std::vector<sm::EarlierRun> EarlierRuns(const journal::Journal& journal,
                                        const std::string& plan_name) {
  std::vector<sm::EarlierRun> earlier;
  Result<std::vector<std::string>> runs = journal.ListRunIds();
  if (!runs.ok()) {
    std::cerr << "backout: warning: earlier runs not checked: " << runs.status().message()
              << "\n";
    return earlier;
  }
  const journal::RunStampReader stamps(journal.dir(), journal.key());
  journal::RunIndexReader index(journal.dir(), journal.key());
  journal::RunStampsAhead stamps_ahead(stamps, *runs);
  for (const std::string& id : *runs) {
    const Result<journal::RunStamp> stamp = stamps_ahead.Next();
    if (const journal::RunSummary* indexed = index.FindCurrent(id, stamp)) {
      if (std::optional<sm::EarlierRun> run = EarlierRunOfEntry(*indexed)) {
        if (run->plan_name == plan_name) earlier.push_back(std::move(*run));
        continue;
      }
    }
    if (!journal.HoldsRun(id)) continue;  // a directory named like a run, but none
    Result<std::optional<sm::EarlierRun>> run = EarlierRunOf(journal, id, plan_name);
    if (!run.ok()) {
      std::cerr << fmt::format("backout: warning: run {} not checked for an earlier success: {}\n",
                               id, run.status().message());
      continue;
    }
    if (run->has_value()) earlier.push_back(std::move(**run));
  }
  return earlier;
}

}  // namespace

int Run(const Common& c, const std::string& plan_file,
        const std::map<std::string, std::string>& approvals, RunMode mode) {
  const adapters::Registry registry = adapters::Registry::Default();
  std::optional<plan::Plan> plan = LoadPlan(plan_file, registry, c.journal_dir);
  if (!plan) return kExitUsage;
  return RunCheckedPlan(c, *plan, plan_file, approvals, mode, registry);
}

int RunCheckedPlan(const Common& c, const plan::Plan& plan, const std::string& plan_file,
                   const std::map<std::string, std::string>& approvals, RunMode mode,
                   const adapters::Registry& registry) {
  if (Status s = sm::CheckApprovals(plan, approvals); !s.ok()) {
    return Fail(s.WithContext("--approve"));
  }
  if (mode.rehearse) {
    if (Status s = engine::CheckRehearsable(plan, registry, Env::Default()); !s.ok()) {
      return Fail(s.WithContext("--rehearse"));
    }
  }
  if (mode.dry_run) return WritePreview(c, plan, registry, {});
  if (!mode.again && !mode.rehearse) {  // else allowed whatever came before: read no runs
    const journal::Journal journal(c.journal_dir, c.journal_key);
    if (Status s = sm::CheckRunAgain(plan, EarlierRuns(journal, plan.name), mode.again,
                                     mode.rehearse);
        !s.ok()) {
      return Fail(s);
    }
  }
  // A capture the plan refers to that is not there refuses the run before it exists, and
  // what it resolved to is journaled with it: the run never looks at another run again.
  Result<nlohmann::json> captures = ResolveCaptures(c, plan);
  if (!captures.ok()) return Fail(captures.status().WithContext("run refused"));
  const std::string run_id = NewRunId();
  const std::string abs_plan = fs::absolute(plan_file).lexically_normal().string();
  // A rehearsal works on copies, and its own run is the check: no preflight of the real
  // targets.
  sm::PreflightRecord preflight;
  if (!mode.rehearse) {
    std::optional<sm::PreflightRecord> checked = PreflightBeforeFirstEffect(
        c, plan, fs::path(abs_plan).parent_path(), registry, *captures, mode.skip_preflight,
        "run refused");
    if (!checked) return kExitUsage;
    preflight = std::move(*checked);
  }
  if (!mode.rehearse) {
    // A target that another runner holds refuses the run before it exists (exit 5), so
    // nothing of it is journaled and no step of it starts. A rehearsal locks its copies,
    // which exist only once the run does (engine::Drive).
    const Status locked = engine::LockPlanTargets(
        plan, engine::LockContext{.registry = &registry,
                                   .env = Env::Default(),
                                   .run_id = run_id,
                                   .base_dir = fs::path(abs_plan).parent_path(),
                                   .cancel = &CancelFlag()});
    if (!locked.ok()) return Fail(locked.WithContext("run refused"));
  }
  journal::Journal journal(c.journal_dir, c.journal_key, c.signing_key);
  // The id is printed as soon as the run exists (its first append, RunStarted, is durable and
  // published the run), before anything else can happen to the process, and never for a run
  // that was not created. Still the first line, on its own: scripts read it.
  // An id another creator took first (kFailedPrecondition, nothing of this run written) is
  // retried with a new one. The target locks keep the first id: it only names the holder.
  constexpr int kIdAttempts = 5;
  Result<std::unique_ptr<engine::RunSession>> session = Status::FailedPrecondition("not created");
  for (int attempt = 0; attempt < kIdAttempts; ++attempt) {
    const std::string id = attempt == 0 ? run_id : NewRunId();
    engine::SessionOptions options = SessionFor(c);
    options.after_append = [id, then = std::move(options.after_append)](int appends) {
      if (appends == 1) std::cout << id << std::endl;
      if (then) then(appends);
    };
    session = engine::RunSession::Create(journal, id, plan, abs_plan, std::move(options),
                                         mode.rehearse, preflight, *captures);
    if (session.ok() || session.status().code() != Code::kFailedPrecondition ||
        session.status().message().find("already exists") == std::string::npos) {
      break;
    }
  }
  if (!session.ok()) return Fail(session.status());
  return DriveSession(c, **session, approvals, &registry);
}

int Resume(const Common& c, const std::string& run_id,
           const std::map<std::string, std::string>& approvals, bool skip_preflight) {
  int code = kExitOk;
  std::unique_ptr<engine::RunSession> session = OpenForWrite(c, run_id, &code);
  if (!session) return code;
  const sm::ResumeCommand command{PlanFileNote(session->state())};
  Result<sm::EventBatch> events = sm::Accept(session->state(), session->plan(), run_id, command);
  if (!events.ok()) {
    // Resuming a finished run is no error: it says so, and exits as the run did.
    if (!session->state().Finished()) return Fail(events.status());
    std::cout << events.status().message() << "\n";
    return ExitCodeFor(session->state().status);
  }
  if (Status s = sm::CheckApprovals(session->plan(), approvals); !s.ok()) {
    return Fail(s.WithContext("--approve"));
  }
  const sm::RunState& state = session->state();
  const bool no_step_started = std::all_of(state.steps.begin(), state.steps.end(),
                                           [](const sm::StepState& st) { return st.attempts == 0; });
  if (no_step_started && !state.start.rehearsal) {
    std::optional<sm::PreflightRecord> checked = PreflightBeforeFirstEffect(
        c, session->plan(), fs::path(UnmarkInvalidUtf8(state.start.plan_file)).parent_path(),
        adapters::Registry::Default(), state.start.captures, skip_preflight, "resume refused");
    if (!checked) return kExitUsage;
    for (sm::EventBody& event : *events) {
      if (auto* resumed = std::get_if<sm::RunResumed>(&event)) resumed->preflight = *checked;
    }
  }
  if (int appended = AppendToContinue(*session, command.plan_file, std::move(events).value());
      appended != kExitOk) {
    return appended;
  }
  std::cout << fmt::format("resuming run {} at event #{}\n", run_id, session->state().last_seq);
  return DriveSession(c, *session, approvals);
}

namespace {

// Whether a runner holds the run now, and how many notes wait in its queue. Probed after the
// journal was read: a runner that took the run since is seen, one that stopped since is not.
Result<RunLiveness> LivenessOf(const journal::Journal& journal, const std::string& run_id) {
  Result<std::optional<journal::RunHolder>> runner = journal.Holder(run_id);
  if (!runner.ok()) return runner.status();
  Result<std::vector<journal::QueuedNote>> queued = journal::QueuedNotes(journal, run_id);
  if (!queued.ok()) return queued.status();
  return RunLiveness{.runner = std::move(runner).value(), .queued_notes = queued->size()};
}


// A JSON value as an element of the array `status --json` prints (DumpJson(array, 2)), so
// that the array can be printed one element at a time.
std::string JsonArrayElement(const nlohmann::json& value) {
  std::string element = DumpJson(value, 2);
  std::string indented;
  indented.reserve(element.size() + element.size() / 16);
  for (char ch : element) {
    indented += ch;
    if (ch == '\n') indented += "  ";
  }
  return indented;
}

// What `status` shows of run `id` when it reads it from its journal, and the run index entry
// that saves the next `status` that read (set only for a finished run that no runner holds
// and has no queued notes, whose head file names its last record: then the entry's
// renderings are what any later read would show until the run is appended to again).
struct ReadListing {
  std::string line;
  std::string json;
  std::optional<journal::RunSummary> entry;
};
// `stamp` is the run's stamp read before this call: a writer session that starts after it
// changes the stamp.
Result<ReadListing> ReadRunListing(const journal::Journal& journal,
                                   const journal::RunStampReader& stamps, const std::string& id,
                                   const Result<journal::RunStamp>& stamp, bool json) {
  // One pass, keeping the state, the count and the last record's head: memory is bounded by
  // the run's steps, however many events an unfinished or unindexed run holds.
  std::size_t events = 0;
  journal::Head last_head;
  Result<sm::RunState> state = history::FoldRun(
      journal, id, [&](const journal::Record& record, const sm::Event&, const sm::RunState&) {
        ++events;
        last_head = journal::HeadOf(record);
        return Status::Ok();
      });
  if (!state.ok()) return state.status();
  Result<RunLiveness> liveness = LivenessOf(journal, id);
  if (!liveness.ok()) return liveness.status();
  ReadListing listing;
  const bool idle = state->Finished() && !liveness->runner && liveness->queued_notes == 0;
  if (json || idle) listing.json = JsonArrayElement(RunToJson(id, *state, events, *liveness));
  listing.line = RunSummaryLine(id, *state, *liveness);
  if (!idle || events == 0) return listing;
  Result<journal::RunStamp> after = stamps.Read(id);
  const journal::RunStamp read{.head = last_head,
                               .lock_stamp = stamp.ok() ? stamp->lock_stamp : 0};
  // The run read is the one stamped: its last record is its head's, and no writer session
  // started between the stamp and the liveness probe.
  if (stamp.ok() && after.ok() && *stamp == read && *after == read) {
    listing.entry =
        journal::RunSummary{.run_id = id, .stamp = read, .line = listing.line, .json = listing.json};
  }
  return listing;
}

// `status` of every run, printed run by run. A finished run is shown from the run index
// (journal/run_index.h) when its entry names the head its head file has; any other run is
// read from its journal (and, once it qualifies, indexed). The index is rewritten only when
// it changed, keeping the unchanged prefix as it is.
int ListAllRuns(const journal::Journal& journal, bool json) {
  // Run ids only: an indexed run is proven by its stamp's head file, any other by HoldsRun.
  Result<std::vector<std::string>> runs = journal.ListRunIds();
  if (!runs.ok()) return Fail(runs.status());
  const journal::RunStampReader stamps(journal.dir(), journal.key());
  journal::RunIndexReader index(journal.dir(), journal.key());
  std::unique_ptr<journal::RunIndexWriter> rewrite;
  bool index_failed = false;
  // Starts the new index at the first change: the entries found so far are kept byte for byte.
  const auto start_rewrite = [&] {
    if (rewrite || index_failed) return;
    Result<std::unique_ptr<journal::RunIndexWriter>> begun = journal::RunIndexWriter::Begin(
        journal.dir(), journal.key(), &index, index.kept_bytes());
    if (begun.ok()) {
      rewrite = std::move(begun).value();
    } else {
      index_failed = true;
      std::cerr << "backout: warning: " << begun.status().message() << "\n";
    }
  };
  int worst = kExitOk;  // the highest exit code of any run that could not be read
  bool first = true;
  const auto print = [&](const std::string& line, const std::string& element) {
    if (json) {
      std::cout << (first ? "[\n  " : ",\n  ") << element;
    } else {
      std::cout << line << "\n";
    }
    first = false;
  };
  // Every run's stamp, read on two threads: for 5,000 indexed runs, the stamps' 30,000
  // system calls are most of a listing (docs/performance.md).
  journal::RunStampsAhead stamps_ahead(stamps, *runs);
  for (const std::string& id : *runs) {
    Result<journal::RunStamp> stamp = stamps_ahead.Next();
    if (const journal::RunSummary* indexed = index.FindCurrent(id, stamp)) {
      print(indexed->line, indexed->json);
      if (!rewrite && index.Keep()) continue;  // still the unchanged start of the index
      start_rewrite();  // entries of runs that are gone were passed over
      if (rewrite && !index_failed) {
        if (Status s = rewrite->Add(*indexed); !s.ok()) index_failed = true;
      }
      continue;
    }
    if (!journal.HoldsRun(id)) continue;  // a directory named like a run, but none
    start_rewrite();  // this run's entry changes, or it had none: from here on, entries are new
    Result<ReadListing> listing = ReadRunListing(journal, stamps, id, stamp, json);
    if (!listing.ok()) {
      std::cerr << "backout: error: " << listing.status().message() << "\n";
      worst = std::max(worst, ExitCodeFor(listing.status()));
      continue;
    }
    print(listing->line, listing->json);
    if (listing->entry && rewrite && !index_failed) {
      if (Status s = rewrite->Add(*listing->entry); !s.ok()) index_failed = true;
    }
  }
  if (json) std::cout << (first ? "[]\n" : "\n]\n");
  // Entries of runs that are gone (after the last listed run) change the index too.
  if (!rewrite && !index.NothingAfterKept()) start_rewrite();
  if (!index.damage().empty()) {
    std::cerr << "backout: note: " << index.damage() << "; rebuilt it from the runs\n";
  }
  if (rewrite && !index_failed) {
    if (Status s = rewrite->Commit(); !s.ok()) {
      std::cerr << "backout: warning: " << s.message() << "\n";
    }
  }
  return worst;
}

}  // namespace

int ShowStatus(const Common& c, const std::string& run_id, bool json) {
  journal::Journal journal(c.journal_dir, c.journal_key);
  if (!run_id.empty()) {
    // One pass, keeping only the state (and counting the events).
    std::size_t events = 0;
    Result<sm::RunState> state = history::FoldRun(
        journal, run_id, [&](const journal::Record&, const sm::Event&, const sm::RunState&) {
          ++events;
          return Status::Ok();
        });
    if (!state.ok()) return Fail(state.status());
    Result<RunLiveness> liveness = LivenessOf(journal, run_id);
    if (!liveness.ok()) return Fail(liveness.status());
    if (json) {
      std::cout << DumpJson(RunToJson(run_id, *state, events, *liveness), 2) << "\n";
    } else {
      std::cout << RunToText(run_id, *state, events, *liveness);
    }
    return kExitOk;
  }
  return ListAllRuns(journal, json);
}

int Events(const Common& c, const std::string& run_id, bool json) {
  journal::Journal journal(c.journal_dir, c.journal_key);
  // Printed as read: a damaged run's error comes after the events before the damage (with
  // the head check, possibly after all of them), and memory does not grow with the run.
  Result<sm::RunState> state = history::FoldRun(
      journal, run_id,
      [&](const journal::Record& record, const sm::Event& event, const sm::RunState&) {
        std::cout << (json ? DumpJson(EventToJson(record)) : EventToText(record, event)) << '\n';
        return Status::Ok();
      });
  if (!state.ok()) {
    std::cout.flush();
    return Fail(state.status());
  }
  return kExitOk;
}

int Approve(const Common& c, const std::string& run_id, const std::string& step,
            const std::string& phrase) {
  int code = kExitOk;
  std::unique_ptr<engine::RunSession> session = OpenForWrite(c, run_id, &code);
  if (!session) return code;
  if (int appended = AppendAccepted(*session, sm::ApproveCommand{step, phrase});
      appended != kExitOk) {
    return appended;
  }
  std::cout << fmt::format("step {} approved by {}; continue with: backout resume {}\n", step,
                           c.operator_name, run_id);
  return kExitOk;
}

int Resolve(const Common& c, const std::string& run_id, const std::string& step, bool applied) {
  int code = kExitOk;
  std::unique_ptr<engine::RunSession> session = OpenForWrite(c, run_id, &code);
  if (!session) return code;
  if (int appended = AppendAccepted(*session, sm::ResolveCommand{step, applied});
      appended != kExitOk) {
    return appended;
  }
  std::cout << fmt::format("step {} resolved as {} by {}; continue with: backout resume {}\n",
                           step, applied ? "applied" : "not applied", c.operator_name, run_id);
  return kExitOk;
}

int Abort(const Common& c, const std::string& run_id, const std::string& reason) {
  int code = kExitOk;
  std::unique_ptr<engine::RunSession> session = OpenForWrite(c, run_id, &code);
  if (!session) return code;
  const sm::AbortCommand command{reason, PlanFileNote(session->state())};
  Result<sm::EventBatch> events = sm::Accept(session->state(), session->plan(), run_id, command);
  if (!events.ok()) return Fail(events.status());
  if (int appended = AppendToContinue(*session, command.plan_file, std::move(events).value());
      appended != kExitOk) {
    return appended;
  }
  std::cout << fmt::format("aborting run {}: running its `always` steps\n", run_id);
  const int driven = DriveSession(c, *session, {});
  std::cout << AbortOutcomeText(run_id, session->state(), session->plan());
  // For `abort`, a run that ended aborted is the command doing what it was asked.
  return session->state().status == sm::RunStatus::kAborted ? kExitOk : driven;
}

namespace {

// After queuing note `id` for a run a runner holds: waits a little for the note to be
// journaled, by the runner (its next event) or, once the runner is gone, by this process
// (a runner that had just taken its last queued notes when the note arrived would otherwise
// leave it queued until the run is next written). Prints what became of the note.
int AwaitQueuedNote(const Common& c, const journal::Journal& journal, const std::string& run_id,
                    const std::string& id) {
  constexpr int kPolls = 40;
  constexpr auto kPollInterval = std::chrono::milliseconds(50);
  std::optional<journal::RunHolder> runner;
  for (int poll = 0; poll < kPolls; ++poll) {
    std::error_code ec;
    if (!fs::exists(journal.NoteQueueDir(run_id) / id, ec) && !ec) {
      std::cout << fmt::format("note added to run {} by {} (journaled by its runner)\n", run_id,
                               c.operator_name);
      return kExitOk;
    }
    Result<std::optional<journal::RunHolder>> holder = journal.Holder(run_id);
    if (!holder.ok()) return Fail(holder.status());
    runner = std::move(holder).value();
    if (!runner) {
      Result<std::unique_ptr<engine::RunSession>> session =
          engine::RunSession::Open(journal, run_id, SessionFor(c));
      if (session.ok()) {
        if (Status s = (*session)->Append({}); !s.ok()) return Fail(s);
        std::cout << fmt::format("note added to run {} by {}\n", run_id, c.operator_name);
        return kExitOk;
      }
      if (session.status().code() != Code::kLocked) return Fail(session.status());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  std::cout << fmt::format(
      "note queued for run {} by {}: its runner{} journals it with the run's next event (the "
      "end of the current step)\n",
      run_id, c.operator_name,
      runner ? fmt::format(" (pid {} on host {})", runner->pid, runner->host) : "");
  return kExitOk;
}

}  // namespace

int Note(const Common& c, const std::string& run_id, const std::string& text) {
  journal::Journal journal(c.journal_dir, c.journal_key, c.signing_key);
  Result<std::unique_ptr<engine::RunSession>> session =
      engine::RunSession::Open(journal, run_id, SessionFor(c));
  if (session.ok()) {
    // Queued notes of a runner that died go first (RunSession::Append): notes keep their order.
    if (int appended = AppendAccepted(**session, sm::NoteCommand{text}); appended != kExitOk) {
      return appended;
    }
    std::cout << fmt::format("note added to run {} by {}\n", run_id, c.operator_name);
    return kExitOk;
  }
  if (session.status().code() != Code::kLocked) return Fail(session.status());
  // A runner holds the run: the note waits in the run's queue for it (journal/note_queue.h).
  Result<std::string> id = journal::QueueNote(
      journal, run_id,
      journal::QueuedNote{.operator_name = c.operator_name,
                          .host = Env::Default()->HostName(),
                          .text = text});
  if (!id.ok()) return Fail(id.status().WithContext("queue the note"));
  return AwaitQueuedNote(c, journal, run_id, *id);
}

namespace {

// The run's decisions re-derived from the plan journaled in its RunStarted, as `replay` does
// (`summary` says how many, and the divergence): a decision that does not re-derive, or an
// approval the run never asked for, is an integrity error naming the event. What `verify`
// and `import` check beyond the chain and the transitions.
Status DecisionsError(const std::string& run_id, const sm::ReplaySummary& summary) {
  if (!summary.divergence) return Status::Ok();
  const sm::Divergence& d = *summary.divergence;
  return Status::Corruption(fmt::format(
      "run {}: event #{} {}: {} does not follow from the events before it and the plan "
      "journaled in RunStarted (an event was deleted, inserted or changed and the chain "
      "recomputed, or the run was journaled by a build with other rules; `backout replay "
      "--all` lists every divergence): recorded {}; derived {}",
      run_id, d.seq, d.event_type,
      d.decision == 0 ? "this approval" : fmt::format("decision {}", d.decision), d.recorded,
      d.derived));
}

Status CheckDecisions(const history::RunSnapshot& snap, sm::ReplaySummary* summary) {
  Result<plan::Plan> plan = history::PlanFromJournal(snap.state, engine::DefaultPlanVocabulary());
  if (!plan.ok()) return plan.status();
  Result<sm::ReplaySummary> replayed = sm::Replay(snap.events, *plan);
  if (!replayed.ok()) return replayed.status();
  *summary = std::move(replayed).value();
  return DecisionsError(snap.records.front().run_id, *summary);
}

// What `verify` and `replay` check of a run, made in one pass over its records (a
// journal::Journal::RecordVisitor: Add): the fold (history::RunFold) and, from the second
// event on, the replay of its decisions against the plan journaled in RunStarted (or
// `replay_plan`, with the renames DiffSteps finds). Keeps the state, the replay's summary
// and the head: memory is bounded by the run's steps. The errors come in the order a whole
// read gives them: Finish reports the fold's; a divergence is in
// summary() (DecisionsError), a journaled plan that no longer parses in
// journaled_plan_status().
class OnePassCheck {
 public:
  OnePassCheck(std::string run_id, std::optional<Digest> expected_head,
               const plan::Plan* replay_plan, sm::ReplayScope scope)
      : fold_(run_id, [this](const journal::Record& r, const sm::Event& e,
                             const sm::RunState& before) { return Replay(r, e, before); }),
        expected_head_(expected_head),
        replay_plan_(replay_plan),
        scope_(scope) {}

  Status Add(const journal::Record& record) {
    if (fold_.events() == 0) {
      run_id_ = record.run_id;
      first_chain_mode_ = record.chain_mode;
    }
    head_seq_ = record.seq;
    head_hash_ = record.hash;
    head_chain_mode_ = record.chain_mode;
    if (expected_head_ && record.hash == *expected_head_ && !expected_seen_at_) {
      expected_seen_at_ = record.seq;
    }
    return fold_.Add(record);
  }

  // The fold's errors. `journal`: where the run is, for the message of a run without events.
  Status Finish(const journal::Journal& journal) {
    Result<sm::RunState> state = std::move(fold_).Finish(journal);
    if (!state.ok()) return state.status();
    state_ = std::move(state).value();
    if (!journaled_ && plan_failed_.ok()) StartReplay(state_);  // a run of RunStarted alone
    return Status::Ok();
  }
  // `visit` sees each event as it is folded, with the state before it, once the journaled
  // plan is parsed (journaled_plan() is valid from the second event on, if it parses).
  using EventVisitor = std::function<void(const journal::Record&, const sm::Event&,
                                          const sm::RunState& before)>;
  void AlsoVisit(EventVisitor visit) { also_visit_ = std::move(visit); }

  // After Finish: whether the plan journaled in RunStarted parses (then the replay ran).
  const Status& journaled_plan_status() const { return plan_failed_; }

  const std::string& run_id() const { return run_id_; }
  std::uint64_t events() const { return head_seq_; }
  std::uint64_t head_seq() const { return head_seq_; }
  const Digest& head_hash() const { return head_hash_; }
  journal::ChainMode head_chain_mode() const { return head_chain_mode_; }
  journal::ChainMode first_chain_mode() const { return first_chain_mode_; }
  const sm::RunState& state() const { return state_; }
  const plan::Plan& journaled_plan() const { return *journaled_; }
  const std::vector<sm::StepChange>& step_changes() const { return step_changes_; }
  const sm::ReplaySummary& summary() const {
    static const sm::ReplaySummary kNone;
    return replayer_ ? replayer_->summary() : kNone;
  }

  // Why the head is not `expected_head`, naming what the difference suggests.
  Status HeadMismatch() const {
    if (expected_seen_at_) {
      return Status::Corruption(fmt::format(
          "run {}: head hash {} (event #{}) does not match the expected {}, which is the hash of "
          "event #{}: events #{} to #{} were appended after that head was recorded",
          run_id_, ToHex(head_hash_), head_seq_, ToHex(*expected_head_), *expected_seen_at_,
          *expected_seen_at_ + 1, head_seq_));
    }
    return Status::Corruption(fmt::format(
        "run {}: head hash {} (event #{}) does not match the expected {}: the journal was "
        "rewritten or truncated after that head was recorded",
        run_id_, ToHex(head_hash_), head_seq_, ToHex(*expected_head_)));
  }

 private:
  // The journaled plan, from the state after RunStarted; the replayer starts with it.
  void StartReplay(const sm::RunState& after_start) {
    Result<plan::Plan> plan =
        history::PlanFromJournal(after_start, engine::DefaultPlanVocabulary());
    if (!plan.ok()) {
      plan_failed_ = plan.status();
      return;
    }
    journaled_ = std::move(plan).value();
    if (replay_plan_ != nullptr) step_changes_ = sm::DiffSteps(*journaled_, *replay_plan_);
    replayer_.emplace(replay_plan_ != nullptr ? *replay_plan_ : *journaled_,
                      sm::ReplayOptions{.scope = scope_, .renamed = sm::Renames(step_changes_)});
  }

  // RunStarted (the first event) records no decision, so the replay starts at the second,
  // once the state before it names the journaled plan.
  Status Replay(const journal::Record& record, const sm::Event& event,
                const sm::RunState& before) {
    if (fold_.events() == 2 && plan_failed_.ok()) StartReplay(before);
    if (replayer_ && !replay_stopped_) replay_stopped_ = replayer_->Check(before, event);
    if (also_visit_) also_visit_(record, event, before);
    return Status::Ok();
  }

  history::RunFold fold_;
  std::optional<Digest> expected_head_;
  const plan::Plan* replay_plan_;
  sm::ReplayScope scope_;
  std::string run_id_;
  std::uint64_t head_seq_ = 0;
  Digest head_hash_{};
  journal::ChainMode head_chain_mode_ = journal::ChainMode::kSha256;
  journal::ChainMode first_chain_mode_ = journal::ChainMode::kSha256;
  std::optional<std::uint64_t> expected_seen_at_;
  sm::RunState state_;
  Status plan_failed_;
  std::optional<plan::Plan> journaled_;
  std::vector<sm::StepChange> step_changes_;
  std::optional<sm::Replayer> replayer_;
  bool replay_stopped_ = false;
  EventVisitor also_visit_;
};

// A run of the journal (or of the export `export_file`) checked in one pass by `check`:
// the chain, the head and the signatures (against `public_key` when given) by the read, the
// rest by `check`, in the order of ReadChecked's errors. `*hmacs_unchecked`: a keyed export
// read without BACKOUT_JOURNAL_KEY, its HMACs left to the signatures.
Result<journal::SignatureCheck> CheckInOnePass(const Common& c, const std::string& run_id,
                                               const std::string& export_file,
                                               const journal::PublicKey* public_key,
                                               OnePassCheck* check, bool* hmacs_unchecked) {
  const journal::Journal journal(c.journal_dir, c.journal_key);
  const auto add = [&](const journal::Record& record) { return check->Add(record); };
  if (export_file.empty()) {
    Result<journal::SignatureCheck> signatures = journal::SignatureCheck{};
    BACKOUT_RETURN_IF_ERROR(journal.ScanSignedRun(run_id, add, public_key, &signatures));
    // None: the "history was lost" error every read of the run gives, before any other.
    if (check->events() == 0) BACKOUT_RETURN_IF_ERROR(check->Finish(journal));
    if (!signatures.ok()) return signatures.status();
    BACKOUT_RETURN_IF_ERROR(check->Finish(journal));
    *hmacs_unchecked = false;
    return signatures;
  }
  // With a public key, the signatures cover what the HMACs would: an auditor needs no secret.
  const journal::KeyedHashes keyed = public_key != nullptr
                                         ? journal::KeyedHashes::kLeaveToSignatures
                                         : journal::KeyedHashes::kNeedKey;
  Result<journal::SignedRun> run =
      journal::ReadSignedExportFile(export_file, c.journal_key, keyed, nullptr);
  if (!run.ok()) return run.status();
  Result<journal::SignatureCheck> signatures =
      journal::CheckSignatures(run->records, run->signatures, public_key);
  if (!signatures.ok()) return signatures.status().WithContext(export_file);
  *hmacs_unchecked = c.journal_key.empty() &&
                     run->records.front().chain_mode == journal::ChainMode::kHmacSha256;
  for (const journal::Record& record : run->records) BACKOUT_RETURN_IF_ERROR(add(record));
  BACKOUT_RETURN_IF_ERROR(check->Finish(journal).WithContext(export_file));
  return signatures;
}

// The key of --public-key; nullopt when none was given.
Result<std::optional<journal::PublicKey>> LoadPublicKey(const std::string& file) {
  if (file.empty()) return std::optional<journal::PublicKey>();
  Result<journal::PublicKey> key = journal::PublicKey::LoadPemFile(file);
  if (!key.ok()) {
    // An unusable key file is the caller's mistake, not the run's: exit 2.
    return Status::InvalidArgument(fmt::format("--public-key: {}", key.status().message()));
  }
  return std::optional<journal::PublicKey>(std::move(key).value());
}

// A run (of the journal, or an export) read and checked in full: its chain, its signatures
// (against `public_key` when given), then every event decoded and folded.
struct CheckedRun {
  history::RunSnapshot snap;
  std::vector<journal::Signature> signatures;
  journal::SignatureCheck signature_check;
  // A keyed export read without BACKOUT_JOURNAL_KEY: its HMACs were left to the signatures.
  bool hmacs_unchecked = false;
  std::vector<journal::ExportedLog> logs;  // an export's step log lines, not yet checked
};

Result<CheckedRun> ReadChecked(const Common& c, const std::string& run_id,
                               const std::string& export_file,
                               const journal::PublicKey* public_key) {
  journal::SignedRun run;
  std::vector<journal::ExportedLog> logs;
  if (export_file.empty()) {
    const journal::Journal journal(c.journal_dir, c.journal_key);
    Result<journal::SignedRun> read = journal.ReadSignedRun(run_id);
    if (!read.ok()) return read.status();
    // None: the "history was lost" error every read of the run gives.
    if (read->records.empty()) {
      return history::StateOfRecords(journal, run_id, read->records).status();
    }
    run = std::move(read).value();
  } else {
    // With a public key, the signatures cover what the HMACs would: an auditor needs no secret.
    const journal::KeyedHashes keyed = public_key != nullptr
                                           ? journal::KeyedHashes::kLeaveToSignatures
                                           : journal::KeyedHashes::kNeedKey;
    Result<journal::SignedRun> read =
        journal::ReadSignedExportFile(export_file, c.journal_key, keyed, &logs);
    if (!read.ok()) return read.status();
    run = std::move(read).value();
  }
  const auto in_file = [&](const Status& s) {
    return export_file.empty() ? s : s.WithContext(export_file);
  };
  Result<journal::SignatureCheck> check =
      journal::CheckSignatures(run.records, run.signatures, public_key);
  if (!check.ok()) return in_file(check.status());
  const bool hmacs_unchecked = c.journal_key.empty() &&
                               run.records.front().chain_mode == journal::ChainMode::kHmacSha256;
  Result<history::RunSnapshot> snap = history::SnapshotOfRecords(std::move(run.records));
  if (!snap.ok()) return in_file(snap.status());
  return CheckedRun{.snap = std::move(snap).value(),
                    .signatures = std::move(run.signatures),
                    .signature_check = std::move(check).value(),
                    .hmacs_unchecked = hmacs_unchecked,
                    .logs = std::move(logs)};
}

// The head hash a JSON report (`report --format json`) records: integrity.head_hash.
Result<std::string> HeadOfReport(const std::string& report_file) {
  Result<std::string> text = ReadFileToString(report_file);
  if (!text.ok()) return text.status().WithContext("--report");
  const nlohmann::json report = nlohmann::json::parse(*text, nullptr, false);
  const nlohmann::json* head = nullptr;
  if (report.is_object() && report.contains("integrity") && report["integrity"].is_object() &&
      report["integrity"].contains("head_hash")) {
    head = &report["integrity"]["head_hash"];
  }
  if (head == nullptr || !head->is_string()) {
    return Status::InvalidArgument(fmt::format(
        "--report: {} is not a JSON report with integrity.head_hash (write one with `backout "
        "report RUN --format json`)", report_file));
  }
  return head->get<std::string>();
}

std::string DescribeSignatures(const journal::SignatureCheck& check) {
  using State = journal::SignatureCheck::State;
  switch (check.state) {
    case State::kUnsigned:
      return "signatures: none (an unsigned run: only --expect-head or a keyed chain shows a "
             "rewrite)";
    case State::kNotChecked:
      return fmt::format(
          "signatures: {} by key {}, through event #{}, consistent; not checked against a "
          "trusted key (give --public-key)",
          check.signatures, check.fingerprint, check.signed_through_seq);
    case State::kVerified:
      return fmt::format("signatures: {} verified with key {}, through event #{} (the head)",
                         check.signatures, check.fingerprint, check.signed_through_seq);
  }
  return "";
}

}  // namespace

int Verify(const Common& c, const std::string& run_id, const VerifyOptions& options) {
  std::string expect_head = options.expect_head;
  if (!options.report_file.empty()) {
    Result<std::string> head = HeadOfReport(options.report_file);
    if (!head.ok()) return Fail(head.status());
    expect_head = *head;
  }
  std::optional<Digest> expected;
  if (!expect_head.empty()) {
    expected = journal::DigestFromHex(expect_head);
    if (!expected) {
      return Fail(Status::InvalidArgument(fmt::format(
          "--expect-head: '{}' is not a head hash: give all 64 hex digits that `verify` printed "
          "(a shorter prefix could be matched by a forged chain)", expect_head)));
    }
  }
  Result<std::optional<journal::PublicKey>> public_key = LoadPublicKey(options.public_key_file);
  if (!public_key.ok()) return Fail(public_key.status());
  VerifyOutcome outcome{.run_id = run_id};
  // Prints the failure (and with --json the outcome so far); returns the exit code.
  auto failed = [&](const Status& s) {
    const Status error = s.WithContext("verify failed");
    outcome.error = error.message();
    if (options.json) std::cout << DumpJson(VerifyToJson(outcome), 2) << "\n";
    return Fail(error);
  };
  // One pass: the read checks the chain, head and signatures; the fold and the replay of the
  // decisions ride along (memory bounded by the steps, not the events).
  OnePassCheck check(run_id, expected, nullptr, sm::ReplayScope::kFirstDivergence);
  bool hmacs_unchecked = false;
  Result<journal::SignatureCheck> signatures =
      CheckInOnePass(c, run_id, options.export_file,
                     public_key->has_value() ? &**public_key : nullptr, &check, &hmacs_unchecked);
  if (!signatures.ok()) return failed(signatures.status());
  WarnIfUnkeyed(c, check.run_id(), check.first_chain_mode());
  outcome.run_id = check.run_id();
  outcome.event_count = check.events();
  outcome.head = ToHex(check.head_hash());
  outcome.chain = journal::ChainModeName(check.head_chain_mode());
  outcome.signatures = *signatures;
  outcome.checks = {"hash_chain", "transitions"};
  if (signatures->state == journal::SignatureCheck::State::kVerified) {
    outcome.checks.push_back("signatures");
  }
  const sm::ReplaySummary& decisions = check.summary();
  const Status decided = check.journaled_plan_status().ok()
                             ? DecisionsError(check.run_id(), decisions)
                             : check.journaled_plan_status();
  outcome.decisions_checked = decisions.decisions_checked;
  outcome.divergence = decisions.divergence;
  if (!decided.ok()) return failed(decided);
  outcome.checks.push_back("decisions");
  if (!options.json) {
    std::cout << fmt::format(
        "run {}: {} events verified: {} intact{}, every event an allowed transition, every "
        "decision ({}) re-derived from the journaled plan\n"
        "{}\nhead hash {} (event #{})\n",
        check.run_id(), check.events(), DescribeChain(check.head_chain_mode()),
        hmacs_unchecked ? " (HMACs not checked without BACKOUT_JOURNAL_KEY: the signatures "
                          "cover them)"
                        : "",
        outcome.decisions_checked, DescribeSignatures(*signatures), outcome.head,
        check.head_seq());
  }
  if (expected) {
    if (*expected != check.head_hash()) return failed(check.HeadMismatch());
    outcome.checks.push_back("expected_head");
    if (!options.json) std::cout << "head hash is the expected one\n";
  }
  if (options.json) std::cout << DumpJson(VerifyToJson(outcome), 2) << "\n";
  return kExitOk;
}

int Export(const Common& c, const std::string& run_id, const std::string& output_file,
           bool with_logs) {
  // The chain, the signatures and every transition are checked: a damaged run is not exported.
  Result<CheckedRun> run = ReadChecked(c, run_id, "", nullptr);
  if (!run.ok()) return Fail(run.status().WithContext("export"));
  const std::vector<journal::Record>& records = run->snap.records;
  Result<std::string> text = journal::ExportRecords(records, run->signatures);
  if (!text.ok()) return Fail(text.status().WithContext("export"));
  if (with_logs) {
    Result<std::vector<journal::ExportedLog>> logs =
        CollectStepLogs(run->snap.events,
                        journal::Journal(c.journal_dir, c.journal_key).LogDir(run_id));
    if (!logs.ok()) return Fail(logs.status().WithContext(fmt::format("export: run {}", run_id)));
    for (const journal::ExportedLog& log : *logs) {
      *text += journal::ExportLogLine(log);
      if (!log.journaled) {
        std::cerr << fmt::format(
            "backout: warning: log {} has no journaled digest (its attempt has no outcome): "
            "exported unverified\n",
            log.file);
      }
    }
  }
  if (!WriteOutput(*text, output_file, "export")) return kExitUsage;
  if (output_file.empty()) return kExitOk;
  std::cout << fmt::format("exported run {}: {} events to {}, head hash {}\n", run_id,
                           records.size(), output_file, ToHex(records.back().hash));
  return kExitOk;
}

int Import(const Common& c, const std::string& export_file, const std::string& public_key_file) {
  Result<std::optional<journal::PublicKey>> public_key = LoadPublicKey(public_key_file);
  if (!public_key.ok()) return Fail(public_key.status());
  // The checks of `verify`: what is imported must pass it afterwards.
  Result<CheckedRun> run =
      ReadChecked(c, "", export_file, public_key->has_value() ? &**public_key : nullptr);
  if (!run.ok()) return Fail(run.status().WithContext("import refused"));
  sm::ReplaySummary decisions;
  if (Status decided = CheckDecisions(run->snap, &decisions); !decided.ok()) {
    return Fail(decided.WithContext("import refused"));
  }
  // Each log against the digest its outcome journaled, before anything is written.
  Result<std::vector<std::string>> unverified = CheckExportedLogs(run->snap.events, run->logs);
  if (!unverified.ok()) return Fail(unverified.status().WithContext("import refused"));
  WarnIfUnkeyed(c, run->snap.records.front().run_id, run->snap.records.front().chain_mode);
  journal::Journal journal(c.journal_dir, c.journal_key);
  if (Status s = journal.ImportRun({run->snap.records, run->signatures}); !s.ok()) {
    return Fail(s.WithContext("import refused"));
  }
  const journal::Record& head = run->snap.records.back();
  std::cout << fmt::format("imported run {}: {} events, head hash {}\n", head.run_id,
                           run->snap.records.size(), ToHex(head.hash));
  if (run->signature_check.state != journal::SignatureCheck::State::kUnsigned) {
    std::cout << DescribeSignatures(run->signature_check) << "\n";
  }
  const std::vector<journal::ExportedLog>& logs = run->logs;
  if (logs.empty()) return kExitOk;
  if (Status s = RestoreStepLogs(logs, journal.LogDir(head.run_id)); !s.ok()) {
    return Fail(s.WithContext(fmt::format("run {} imported, its step logs not all restored",
                                          head.run_id)));
  }
  std::cout << fmt::format("restored {} step logs, {} checked against their journaled digest\n",
                           logs.size(), logs.size() - unverified->size());
  for (const std::string& file : *unverified) {
    std::cerr << fmt::format(
        "backout: warning: log {} has no journaled digest (its attempt has no outcome): "
        "restored unverified\n",
        file);
  }
  return kExitOk;
}

namespace {

// Every `${VAR}` set, to an empty value: a replay runs nothing, so a plan replayed in CI needs
// none of the secrets its variables hold.
plan::VarLookup AnyVariable() {
  return [](const std::string&) -> std::optional<std::string> { return std::string(); };
}

}  // namespace

int Replay(const Common& c, const ReplayRequest& request) {
  const adapters::Registry registry = adapters::Registry::Default();
  std::optional<plan::Plan> plan_file;
  if (!request.plan_file.empty()) {
    plan_file = LoadPlan(request.plan_file, registry, "", AnyVariable());
    if (!plan_file) return kExitUsage;
  }
  Result<std::optional<journal::PublicKey>> public_key = LoadPublicKey(request.public_key_file);
  if (!public_key.ok()) return Fail(public_key.status());
  // One pass: the read checks the chain, head and signatures; the fold and the replay ride
  // along.
  OnePassCheck check(request.run_id, std::nullopt, plan_file ? &*plan_file : nullptr,
                     request.all ? sm::ReplayScope::kAll : sm::ReplayScope::kFirstDivergence);
  bool hmacs_unchecked = false;
  Result<journal::SignatureCheck> signatures =
      CheckInOnePass(c, request.run_id, request.export_file,
                     public_key->has_value() ? &**public_key : nullptr, &check, &hmacs_unchecked);
  if (!signatures.ok()) return Fail(signatures.status().WithContext("replay failed"));
  if (Status journaled = check.journaled_plan_status(); !journaled.ok()) {
    return Fail(journaled.WithContext("replay failed"));
  }
  const plan::Plan& plan = plan_file ? *plan_file : check.journaled_plan();
  ReplayOutcome outcome{.run_id = check.run_id(),
                        .plan_name = plan.name,
                        .export_file = request.export_file,
                        .plan_file = request.plan_file,
                        .plan_sha256 = plan.sha256,
                        .event_count = check.events(),
                        .all = request.all,
                        .step_changes = check.step_changes()};
  sm::ReplaySummary summary = check.summary();
  outcome.summary = std::move(summary);
  if (!request.junit_file.empty() &&
      !WriteOutput(ReplayToJUnit(outcome), request.junit_file, "JUnit report")) {
    return kExitUsage;
  }
  std::cout << (request.json ? DumpJson(ReplayToJson(outcome), 2) + "\n"
                             : ReplayToText(outcome));
  return outcome.matches() ? kExitOk : kExitRunFailed;
}

namespace {

std::string_view ActionWords(const std::string& action) {
  if (action == "rollback_now") return "rollback now";
  if (action == "forward_fix") return "forward fix";
  return action;  // "monitor"
}

// Journals the recommendation in a run, so its report shows why the rollback started.
int RecordTriage(const Common& c, const std::string& run_id, const plan::Plan& plan,
                 const sm::TriageCommand& triage) {
  int code = kExitOk;
  std::unique_ptr<engine::RunSession> session = OpenForWrite(c, run_id, &code);
  if (!session) return code;
  if (session->state().start.plan_sha256 != plan.sha256) {
    std::cerr << fmt::format(
        "backout: warning: run {} was started from another plan text (sha256 {}); recording "
        "the triage of {} anyway\n",
        run_id, session->state().start.plan_sha256, plan.source_file);
  }
  if (int appended = AppendAccepted(*session, triage); appended != kExitOk) return appended;
  std::cout << fmt::format("triage recorded in run {} by {}\n", run_id, c.operator_name);
  return kExitOk;
}

}  // namespace

int Triage(const Common& c, const std::string& plan_file, const std::string& issue,
           const std::string& severity, const std::string& run_id) {
  const adapters::Registry registry = adapters::Registry::Default();
  std::optional<plan::Plan> plan = LoadPlan(plan_file, registry);
  if (!plan) return kExitUsage;
  Result<sm::TriageCommand> trigger = sm::FindTrigger(*plan, issue, severity);
  if (!trigger.ok()) return Fail(trigger.status());
  std::cout << fmt::format("{} / {}: {}\n", issue, severity, ActionWords(trigger->action));
  if (!trigger->note.empty()) std::cout << "  " << trigger->note << "\n";
  if (run_id.empty()) return kExitOk;
  return RecordTriage(c, run_id, *plan, *trigger);
}

namespace {

// Where a report goes as it is written: stdout, or a new file (mode 0600) put in place of
// `output_file` only once complete, so that an incomplete report never replaces it. The bytes
// are written by a thread of their own (base/write_behind.h): copying half a gigabyte into
// the page cache or a pipe is no longer on the thread that makes the report.
class ReportOutput {
 public:
  static Result<ReportOutput> Open(const std::string& output_file) {
    ReportOutput out;
    out.output_file_ = output_file;
    if (output_file.empty()) {
      std::cout.flush();  // what was printed before comes first
      out.writer_ = std::make_unique<WriteBehind>(STDOUT_FILENO, "stdout");
      return out;
    }
    Result<ExclusiveFile> file = CreateExclusiveFile(output_file, ".tmp-backout");
    if (!file.ok()) return file.status();
    out.file_ = std::move(file).value();
    out.writer_ = std::make_unique<WriteBehind>(out.file_.fd.get(), out.file_.path.string());
    return out;
  }
  ReportOutput(ReportOutput&&) = default;
  ReportOutput& operator=(ReportOutput&&) = default;
  ~ReportOutput() {
    writer_.reset();  // its thread stops before the file is removed and closed
    if (file_.fd.valid()) {  // not finished: the partial file goes
      std::error_code ignored;
      fs::remove(file_.path, ignored);
    }
  }

  Status Write(std::string_view bytes) { return writer_->Write(bytes); }

  // Everything written, durably when to a file.
  Status Finish() {
    BACKOUT_RETURN_IF_ERROR(writer_->Flush());
    if (output_file_.empty()) return Status::Ok();
    // Until the rename, a failure leaves no file behind (the destructor removes an open one).
    if (::fsync(file_.fd.get()) != 0) {
      return Status::IOError(fmt::format("{}: {}", file_.path.string(), std::strerror(errno)));
    }
    Status finished = ::close(file_.fd.Release()) == 0
                          ? RenameDurably(file_.path, output_file_)
                          : Status::IOError(fmt::format("{}: {}", file_.path.string(),
                                                        std::strerror(errno)));
    if (!finished.ok()) {
      std::error_code ignored;
      fs::remove(file_.path, ignored);
    }
    return finished;
  }

 private:
  ReportOutput() = default;

  std::string output_file_;
  ExclusiveFile file_;
  std::unique_ptr<WriteBehind> writer_;  // writes to stdout or file_.fd
};

// What the first pass over a run leaves for writing its report: the report without its
// lists that grow with events (bounded by the run's steps), their sizes, and where the run's
// checked history ends.
struct ReportSummary {
  report::RunReport report;
  report::EventListSizes sizes;
  // Every entry of the lists that grow with events; null when spooling failed, and the lists
  // are then made again by passes over the run.
  std::unique_ptr<ReportSpool> spool;
  sm::RunState state;
  plan::Plan plan;
  std::uint64_t head_seq = 0;
  Digest head_hash{};
};

// Visits the events of `run_id` up to event #`head_seq`, which must have `head_hash`: the
// head a first pass checked (a run still running may have grown since; what it appended is
// not visited). A record up to that head that is not the one checked, or a run that ends
// before it, is kCorruption: the run was changed between the passes.
Status ScanCheckedPrefix(const journal::Journal& journal, const std::string& run_id,
                         std::uint64_t head_seq, const Digest& head_hash,
                         const std::function<Status(const journal::Record&, const sm::Event&)>&
                             visit) {
  std::uint64_t last_seq = 0;
  const Status scanned = journal.ScanRun(run_id, [&](const journal::Record& r) -> Status {
    if (r.seq > head_seq) return Status::Cancelled("past the checked head");
    last_seq = r.seq;
    if (r.seq == head_seq && r.hash != head_hash) {
      return Status::Corruption(fmt::format(
          "run {}: event #{} is not the one checked when the report began (the run was "
          "changed while its report was written)",
          run_id, r.seq));
    }
    Result<sm::Event> event = history::DecodeEvent(r);
    if (!event.ok()) return event.status().WithContext(fmt::format("run {}", run_id));
    return visit(r, *event);
  });
  if (!scanned.ok() && !(scanned.code() == Code::kCancelled && last_seq == head_seq)) {
    return scanned;
  }
  if (last_seq != head_seq) {
    return Status::Corruption(fmt::format(
        "run {}: it ends at event #{}, not at #{} as when the report began (events were "
        "removed while its report was written)",
        run_id, last_seq, head_seq));
  }
  return Status::Ok();
}

// What comes before any output: the run checked as every read of it is (chain, head,
// signatures, transitions, decisions) in one pass that keeps only the state (OnePassCheck)
// and, in the same pass, summed up into a report whose lists that grow with events are handed
// over (ReportBuilder::Lists::kHandOver) to a ReportSpool. The pass holds none of the run's
// records or events but the first: the builder is made once the journaled plan is known, from
// the state after RunStarted (it names the steps; Finish takes the rest from the final state).
Result<ReportSummary> SummarizeForReport(const Common& c, const std::string& run_id,
                                         bool embed_plan) {
  OnePassCheck check(run_id, std::nullopt, nullptr, sm::ReplayScope::kFirstDivergence);
  std::optional<report::ReportBuilder> builder;
  std::optional<std::pair<journal::Record, sm::Event>> run_started;
  auto spool = std::make_unique<ReportSpool>();
  Status spooled;
  const auto keep = [&](const report::TimelineEntry* entry) {
    if (spooled.ok()) spooled = spool->Keep(entry, builder->made());
  };
  const auto add = [&](const journal::Record& r, const sm::Event& e) {
    const report::TimelineEntry& entry = builder->Add(r, e);
    keep(&entry);
  };
  const auto make_builder = [&](const sm::RunState& after_start) {
    builder.emplace(run_id, after_start, check.journaled_plan(),
                    report::ReportBuilder::Lists::kHandOver);
    add(run_started->first, run_started->second);
    run_started.reset();
  };
  check.AlsoVisit([&](const journal::Record& r, const sm::Event& e, const sm::RunState& before) {
    if (!builder && !run_started) {
      run_started.emplace(r, e);
      return;
    }
    if (!check.journaled_plan_status().ok()) return;  // the check fails: no report
    if (!builder) make_builder(before);
    add(r, e);
  });
  bool hmacs_unchecked = false;
  Result<journal::SignatureCheck> signatures =
      CheckInOnePass(c, run_id, "", nullptr, &check, &hmacs_unchecked);
  if (!signatures.ok()) return signatures.status();
  if (!check.journaled_plan_status().ok()) {
    return check.journaled_plan_status().WithContext(fmt::format("run {}", run_id));
  }
  const plan::Plan& plan = check.journaled_plan();
  if (!builder) make_builder(check.state());  // a run of RunStarted alone
  builder->EndOfEvents();
  keep(nullptr);
  if (!spooled.ok()) {
    std::cerr << "backout: note: report: " << spooled.message()
              << "; reading the run again for each of its lists instead\n";
    spool.reset();
  }
  const report::EventListSizes sizes = builder->sizes();
  report::RunReport built = builder->Finish(check.state(), plan, /*chain_verified=*/true);
  // What `replay` checks: every journaled decision re-derived with today's state machine.
  built.integrity.decisions_verified = !check.summary().divergence.has_value();
  // The signatures are consistent with the key they name (the read checked them); which key
  // is trusted is the auditor's to say, with `verify --public-key` (docs/audit.md).
  built.integrity.signature = report::SignatureStatus{
      .state = signatures->state == journal::SignatureCheck::State::kUnsigned
                   ? report::SignatureStatus::State::kUnsigned
                   : report::SignatureStatus::State::kUnchecked,
      .key_fingerprint = signatures->fingerprint,
      .covers_seq = signatures->signed_through_seq};
  if (embed_plan) built.plan_text = check.state().start.plan_text;
  return ReportSummary{.report = std::move(built),
                       .sizes = sizes,
                       .spool = std::move(spool),
                       .state = check.state(),
                       .plan = plan,
                       .head_seq = check.head_seq(),
                       .head_hash = check.head_hash()};
}

}  // namespace

int WriteReport(const Common& c, const std::string& run_id, const std::string& format,
                const std::string& output_file, bool embed_plan) {
  // One pass over the run, so that the report is written as it is produced with nothing of
  // it held whole: it checks the run and sums it up, spooling the lists that grow with events
  // (a damaged journal stops there, before any output); then each list (the timeline, its key
  // moments, notes, ...) is written entry by entry from its spool when its section comes, or,
  // if spooling failed, from a pass of its own (docs/report.md).
  Result<ReportSummary> summary = SummarizeForReport(c, run_id, embed_plan);
  if (!summary.ok()) return Fail(summary.status().WithContext("report"));
  Result<ReportOutput> out = ReportOutput::Open(output_file);
  if (!out.ok()) {
    std::cerr << "backout: error: cannot write the report: " << out.status().message() << "\n";
    return kExitUsage;
  }
  const journal::Journal journal(c.journal_dir, c.journal_key);
  bool started = false;
  bool output_failed = false;
  // Each pass goes up to the head the first pass checked.
  const report::EventLists lists =
      summary->spool
          ? summary->spool->Lists()
          : report::ListsFromPasses(
                run_id, summary->state, summary->plan, summary->sizes,
                [&](const report::RunVisitor& visit) {
                  return ScanCheckedPrefix(journal, run_id, summary->head_seq,
                                           summary->head_hash, visit);
                });
  const Status written = report::WriteReport(
      summary->report, lists, format,
      [&](std::string_view bytes) {
        started = true;
        Status s = out->Write(bytes);
        output_failed = !s.ok();
        return s;
      });
  if (written.ok()) {
    if (const Status finished = out->Finish(); !finished.ok()) {
      std::cerr << "backout: error: cannot write the report: " << finished.message() << "\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  if (!started) return Fail(written);  // an unknown format: nothing written
  // Found after part of it was written: stdout already has that part.
  std::cerr << fmt::format(
      "backout: error: report: {}\nbackout: error: the report is INCOMPLETE and UNVERIFIED: {}\n",
      written.message(),
      output_file.empty() ? "discard what was written to stdout"
                          : fmt::format("{} was not written", output_file));
  return output_failed ? kExitUsage : ExitCodeFor(written);
}

plan::VarLookup EnvLookup() {
  return [](const std::string& name) { return Env::Default()->GetVar(name); };
}

}  // namespace backout::cli
