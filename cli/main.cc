// backout: run database rollback plans as resumable, journaled state machines.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/secret_env.h"
#include "base/suggest.h"
#include "cli/backup_objects.h"
#include "cli/backups.h"
#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/plan_test.h"
#include "journal/fault_injection.h"

namespace {

void OnStopSignal(int) { backout::cli::CancelFlag().store(true); }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked prompt read returns so the run can pause
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed stdout (`backout run plan | head -1`) must not kill a runner mid-step; writes
  // then fail quietly and the run goes on. Child commands get default dispositions back.
  signal(SIGPIPE, SIG_IGN);
}

std::map<std::string, std::string> ParseApprovals(const std::vector<std::string>& raw) {
  std::map<std::string, std::string> out;
  for (const std::string& item : raw) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CLI::ValidationError("--approve", "expected STEP=PHRASE, got '" + item + "'");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

// The journal key, from $BACKOUT_JOURNAL_KEY or the file $BACKOUT_JOURNAL_KEY_FILE names ("":
// none). Both variables leave the environment here, for good: see TakeFromEnvironment for why
// the entries are wiped in place. The file's path is no secret, but a step has no business
// knowing where the key lies, so it goes too.
backout::Result<std::string> TakeJournalKey() {
  std::optional<std::string> key = backout::TakeFromEnvironment("BACKOUT_JOURNAL_KEY");
  std::optional<std::string> file = backout::TakeFromEnvironment("BACKOUT_JOURNAL_KEY_FILE");
  const bool has_key = key && !key->empty();
  const bool has_file = file && !file->empty();
  if (has_key && has_file) {
    return backout::Status::InvalidArgument(
        "both BACKOUT_JOURNAL_KEY and BACKOUT_JOURNAL_KEY_FILE are set; set one");
  }
  if (!has_file) return has_key ? std::move(*key) : std::string();
  backout::Result<std::string> read = backout::ReadSecretFile(*file);
  if (!read.ok()) return read.status().WithContext("BACKOUT_JOURNAL_KEY_FILE");
  return read;
}

// The signing key of $BACKOUT_SIGNING_KEY_FILE (null: none). The variable leaves the
// environment, as the journal key's do: a step has no business knowing where the key lies.
backout::Result<std::shared_ptr<const backout::journal::SigningKey>> TakeSigningKey() {
  std::optional<std::string> file = backout::TakeFromEnvironment("BACKOUT_SIGNING_KEY_FILE");
  if (!file || file->empty()) return std::shared_ptr<const backout::journal::SigningKey>();
  backout::Result<backout::journal::SigningKey> key =
      backout::journal::SigningKey::LoadPemFile(*file);
  if (!key.ok()) return key.status().WithContext("BACKOUT_SIGNING_KEY_FILE");
  return std::make_shared<const backout::journal::SigningKey>(std::move(key).value());
}

// Where a subcommand belongs, a word that names none, and the command it was given to: the
// first argument that is not an option (the top level, and a command made only of
// subcommands such as `backups`, have only flags, which take no value).
struct UnknownWord {
  std::string word;
  const CLI::App* parent;
};
std::optional<UnknownWord> UnknownSubcommand(const CLI::App& app, int argc, char** argv) {
  const CLI::App* parent = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.starts_with("-")) continue;
    const std::vector<const CLI::App*> subs = parent->get_subcommands({});
    const auto named = std::find_if(subs.begin(), subs.end(),
                                    [&](const CLI::App* sub) { return sub->check_name(word); });
    if (named == subs.end()) return UnknownWord{word, parent};
    if ((*named)->get_subcommands({}).empty()) return std::nullopt;
    parent = *named;
  }
  return std::nullopt;
}

std::vector<std::string> SubcommandNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  using backout::Env;
  namespace cli = backout::cli;
  // First of all: before CLI11, a thread or a child could copy the environment.
  backout::Result<std::string> journal_key = TakeJournalKey();
  backout::Result<std::shared_ptr<const backout::journal::SigningKey>> signing_key =
      TakeSigningKey();

  CLI::App app{
      "backout: runs database rollback plans as event-sourced state machines.\n"
      "Every action is journaled (RocksDB, hash-chained) before and after it takes effect, so an\n"
      "interrupted rollback resumes exactly where it stopped.\n\n"
      "Exit codes: 0 ok, 1 run failed or aborted, 2 usage or plan error, 3 run paused,\n"
      "4 journal integrity error, 5 run locked by another runner."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "backout " BACKOUT_VERSION);

  std::string journal_flag, operator_flag;
  auto add_journal = [&](CLI::App* sub) {
    sub->add_option("--journal", journal_flag,
                    "Journal directory (default: $BACKOUT_JOURNAL, else ./.backout)");
  };
  // Commands that write to the journal also record who acted.
  auto add_common = [&](CLI::App* sub) {
    add_journal(sub);
    sub->add_option("--operator", operator_flag,
                    "Who is acting (default: $BACKOUT_OPERATOR, else the login name)");
  };

  std::string plan_file, run_id, step, phrase, reason, text;
  std::vector<std::string> approve_raw;
  bool dry_run = false, rehearse = false, again = false, json = false, applied = false,
       not_applied = false;
  bool connect = false, skip_preflight = false;
  constexpr const char* kSkipPreflightHelp =
      "Start without the preflight checks of the targets (emergencies only; journaled with "
      "the operator)";

  CLI::App* validate = app.add_subcommand("validate", "Check a plan without running it");
  validate->add_option("PLAN", plan_file, "Plan file (YAML)")->required();
  // Only to refuse plan paths that lead into it.
  add_journal(validate);
  validate->add_flag("--connect", connect,
                     "Also run the whole preflight: connect to every target and check what "
                     "the plan needs (changes nothing); 2 if a check fails");
  validate->add_flag("--json", json,
                     "The result as JSON: the plan, errors and warnings with positions and "
                     "hints, and with --connect the preflight findings (docs/cli.md)");

  std::string spec_file, junit_file;
  CLI::App* test = app.add_subcommand(
      "test", "Run the plan's failure paths on the state machine alone (no target, journal or "
              "secret): the built-in scenarios, or a spec's, whose expectations must hold "
              "(docs/plan-tests.md); 1 when one does not");
  test->add_option("PLAN", plan_file, "Plan file (YAML)")->required();
  test->add_option("SPEC", spec_file,
                   "Test spec (YAML, docs/plan-tests.md); without it, the built-in scenarios");
  test->add_flag("--json", json, "Machine-readable output (docs/plan-tests.md)");
  test->add_option("--junit", junit_file,
                   "Also write a JUnit XML report to FILE (one testcase per scenario)");

  std::string plan_output;
  CLI::App* plan = app.add_subcommand(
      "plan", "Show everything a run of the plan would do, step by step, and what happens if a "
              "step fails; touch nothing");
  plan->add_option("PLAN", plan_file, "Plan file (YAML)")->required();
  plan->add_flag("--json", json, "Machine-readable output (docs/plan-preview.md)");
  plan->add_option("-o,--output", plan_output,
                   "Write the preview to FILE (mode 0600, atomically) instead of stdout");
  // Only to refuse plan paths that lead into it, as validate does.
  add_journal(plan);

  CLI::App* run = app.add_subcommand("run", "Start a new run of a plan (prints the run id first)");
  run->add_option("PLAN", plan_file, "Plan file (YAML)")->required();
  add_common(run);
  run->add_option("--approve", approve_raw, "Pre-approve an approval step: STEP=PHRASE (repeatable)")
      ->expected(1)
      ->take_all();
  run->add_flag("--dry-run", dry_run,
               "Validate and print the plan preview (as `backout plan`); touch nothing");
  run->add_flag("--rehearse", rehearse,
                "Run without side effects: database targets on throwaway copies (dropped at "
                "the end), other targets skipped, redirected or live as their `rehearsal:` "
                "says, backups in the run's scratch directory, notifications marked "
                "[REHEARSAL]; journaled and reported as a rehearsal");
  run->add_flag("--again", again,
                "Run even though an earlier run of this plan (same name) in the journal "
                "succeeded; without it such a run is refused (exit 2)");
  run->add_flag("--skip-preflight", skip_preflight, kSkipPreflightHelp);

  std::string capture_name, capture_backup_to = "backups/";
  CLI::App* capture = app.add_subcommand(
      "capture", "Take a named capture (baselines and backups) before a migration, for a later "
                 "plan to compare with and restore from as capture.NAME (prints the run id "
                 "first)");
  capture->add_option("PLAN", plan_file,
                      "A plan with capture steps of that name, or a plan whose capture.NAME "
                      "references say what to capture")
      ->required();
  capture->add_option("--name", capture_name, "The capture's name")->required();
  capture->add_option("--backup-to", capture_backup_to,
                      "Where backups go for targets a step restores from the capture (default "
                      "backups/, relative to the plan); a plan with capture steps says it "
                      "itself");
  add_common(capture);
  capture->add_flag("--skip-preflight", skip_preflight, kSkipPreflightHelp);

  CLI::App* resume = app.add_subcommand(
      "resume", "Continue a paused or interrupted run from its journal");
  resume->add_option("RUN", run_id, "Run id")->required();
  add_common(resume);
  resume->add_option("--approve", approve_raw, "Pre-approve an approval step: STEP=PHRASE (repeatable)")
      ->expected(1)
      ->take_all();
  resume->add_flag("--skip-preflight", skip_preflight, kSkipPreflightHelp);

  CLI::App* status = app.add_subcommand(
      "status", "Show one run, or all runs, and whether a runner holds each or it was "
                "interrupted (needs resume)");
  status->add_option("RUN", run_id, "Run id (all runs when left out)");
  add_journal(status);
  status->add_flag("--json", json, "Machine-readable output");

  CLI::App* events = app.add_subcommand("events", "List a run's journal, one event per line");
  events->add_option("RUN", run_id, "Run id")->required();
  add_journal(events);
  events->add_flag("--json", json, "JSON Lines with every field and hash");

  CLI::App* approve = app.add_subcommand("approve", "Approve a step waiting for approval");
  approve->add_option("RUN", run_id, "Run id")->required();
  approve->add_option("STEP", step, "Approval step id")->required();
  approve->add_option("--phrase", phrase, "The step's confirmation phrase")->required();
  add_common(approve);

  CLI::App* resolve = app.add_subcommand(
      "resolve", "Settle an in-doubt step: say whether its effect took place");
  resolve->add_option("RUN", run_id, "Run id")->required();
  resolve->add_option("STEP", step, "In-doubt step id")->required();
  auto* applied_flag = resolve->add_flag("--applied", applied, "The effect is in place");
  auto* not_applied_flag =
      resolve->add_flag("--not-applied", not_applied, "The effect is not in place (re-run it)");
  applied_flag->excludes(not_applied_flag);
  add_common(resolve);

  CLI::App* abort = app.add_subcommand(
      "abort", "Stop a run: skip remaining steps, run `always` steps, mark it aborted");
  abort->add_option("RUN", run_id, "Run id")->required();
  abort->add_option("--reason", reason, "Why (journaled)")->required();
  add_common(abort);

  CLI::App* note = app.add_subcommand(
      "note", "Journal an operator's note for the post-mortem (while a runner holds the run: "
              "queued, and journaled by it with its next event)");
  note->add_option("RUN", run_id, "Run id")->required();
  note->add_option("TEXT", text, "The note")->required();
  add_common(note);

  cli::VerifyOptions verify_options;
  CLI::App* verify = app.add_subcommand(
      "verify", "Check a run's hash chain, signatures, that every event is an allowed "
                "transition and that every decision re-derives from the journaled plan (as "
                "replay does)");
  verify->add_option("RUN", run_id, "Run id (or --file)");
  verify->add_option("--file", verify_options.export_file,
                     "Verify a run exported with `backout export` (or RUN)");
  auto* expect_head = verify->add_option(
      "--expect-head", verify_options.expect_head,
      "Also require this head hash (all 64 hex digits), recorded earlier");
  verify->add_option("--report", verify_options.report_file,
                     "Also require the head hash of this JSON report (`report --format json`)")
      ->excludes(expect_head);
  constexpr const char* kPublicKeyHelp =
      "Require signatures through the last event by this Ed25519 public key (PEM, `openssl "
      "pkey -pubout`); then a keyed export needs no BACKOUT_JOURNAL_KEY";
  verify->add_option("--public-key", verify_options.public_key_file, kPublicKeyHelp);
  verify->add_flag("--json", verify_options.json,
                   "The result as one JSON object (docs/cli.md#verify)");
  add_journal(verify);
  verify->callback([&] {
    if (run_id.empty() == verify_options.export_file.empty()) {
      throw CLI::ValidationError("verify", "give exactly one of RUN or --file EXPORT");
    }
  });

  std::string export_output, import_file;
  CLI::App* export_run = app.add_subcommand(
      "export", "Write a run as JSON Lines, with its hash chain, for `import` elsewhere");
  export_run->add_option("RUN", run_id, "Run id")->required();
  export_run->add_option("-o,--output", export_output,
                         "Write to FILE (mode 0600, atomically) instead of stdout");
  bool export_with_logs = false;
  export_run->add_flag("--with-logs", export_with_logs,
                       "Also carry the step logs (RUN/logs/run.log), each checked against the "
                       "sha256 its outcome journaled; `import` checks and restores them");
  add_journal(export_run);

  CLI::App* import_run = app.add_subcommand(
      "import",
      "Create a run from an export, after checking its whole chain (and its step logs)");
  import_run->add_option("FILE", import_file, "An export written by `backout export`")
      ->required();
  std::string public_key_file;
  import_run->add_option("--public-key", public_key_file, kPublicKeyHelp);
  add_journal(import_run);

  cli::ReplayRequest replay_request;
  CLI::App* replay = app.add_subcommand(
      "replay", "Re-derive every decision of a run with today's state machine, against the "
                "journaled plan or (--plan) an edited one");
  replay->add_option("RUN", replay_request.run_id, "Run id (or --file)");
  replay->add_option("--file", replay_request.export_file,
                     "A run exported with `backout export` (or RUN)");
  replay->add_option("--plan", replay_request.plan_file,
                     "Replay against this plan file instead of the journaled plan: would it "
                     "decide the same on this history? (steps added, removed, renamed shown)");
  replay->add_flag("--all", replay_request.all,
                   "List every divergence, not only the first (the recorded events are folded "
                   "on as they happened)");
  replay->add_flag("--json", replay_request.json,
                   "The result as one JSON object (docs/replay.md#json)");
  replay->add_option("--junit", replay_request.junit_file,
                     "Also write the result as JUnit XML to FILE, for CI (mode 0600, atomically)");
  replay->add_option("--public-key", replay_request.public_key_file, kPublicKeyHelp);
  add_journal(replay);
  replay->callback([&] {
    if (replay_request.run_id.empty() == replay_request.export_file.empty()) {
      throw CLI::ValidationError("replay", "give exactly one of RUN or --file EXPORT");
    }
  });

  std::string issue, severity, triage_run;
  CLI::App* triage = app.add_subcommand(
      "triage", "Look up the plan's recommended action for an issue (its triggers: matrix)");
  triage->add_option("PLAN", plan_file, "Plan file (YAML)")->required();
  triage->add_option("--issue", issue, "Issue type, as in the plan's triggers")->required();
  triage->add_option("--severity", severity, "Severity, as in the plan's triggers")->required();
  triage->add_option("--run", triage_run, "Also journal the recommendation in this run");
  add_common(triage);

  std::string report_format = "md", report_file;
  CLI::App* report = app.add_subcommand(
      "report", "Post-incident report of a run, replayed from its journal alone");
  report->add_option("RUN", run_id, "Run id")->required();
  report->add_option("--format", report_format, "md (default), html or json")
      ->check(CLI::IsMember({"md", "html", "json"}));
  report->add_option("-o,--output", report_file,
                     "Write the report to FILE (mode 0600, atomically) instead of stdout");
  bool embed_plan = false;
  report->add_flag("--embed-plan", embed_plan,
                   "Include the plan text journaled when the run started (${VAR}s unexpanded)");
  add_journal(report);

  // The backup catalog and retention (docs/backups.md).
  CLI::App* backups = app.add_subcommand(
      "backups", "The catalog of every backup the journal's runs took or restored from, and "
                 "retention");
  backups->require_subcommand(1);
  std::string backups_target;
  std::vector<std::string> backup_ids;
  CLI::App* backups_list = backups->add_subcommand(
      "list", "Every backup: id, target, kind, size, time, run, step, whether it is still "
              "there, location");
  backups_list->add_option("--target", backups_target, "Only the backups of this target");
  backups_list->add_flag("--json", json, "Machine-readable output (docs/backups.md#catalog)");
  add_journal(backups_list);
  std::string backup_id;
  CLI::App* backups_show =
      backups->add_subcommand("show", "One backup in full: every run that used it, its deletion");
  backups_show->add_option("ID", backup_id, "Backup id (or a unique prefix of 4+ digits)")
      ->required();
  backups_show->add_flag("--json", json, "Machine-readable output");
  add_journal(backups_show);
  CLI::App* backups_verify = backups->add_subcommand(
      "verify", "Re-read and re-hash backups (all not deleted when no ID is given); 1 when "
                "one is missing or changed");
  backups_verify->add_option("ID", backup_ids, "Backup ids");
  backups_verify->add_flag("--json", json, "Machine-readable output");
  add_journal(backups_verify);
  cli::PruneOptions prune_options;
  CLI::App* backups_prune = backups->add_subcommand(
      "prune", "Delete the backups no retention rule keeps (never one an unfinished run "
               "refers to), journaling the decision and each deletion; shows the verdicts first");
  backups_prune->add_option("--keep-last", prune_options.keep_last,
                            "Keep the N newest backups of each target");
  backups_prune->add_option("--keep-within", prune_options.keep_within,
                            "Keep the backups taken within this window (30d, 2w, 36h)");
  backups_prune->add_option("--target", prune_options.target, "Only the backups of this target");
  backups_prune->add_flag("--dry-run", prune_options.dry_run,
                          "Show what would be deleted; delete and journal nothing");
  add_common(backups_prune);

  // Hidden (no group): `cmake --build` writes the installed completion files with it.
  std::string completion_shell;
  CLI::App* completion =
      app.add_subcommand("completion", "Print the shell completion script")->group("");
  completion->add_option("SHELL", completion_shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));

  // CLI11 would say only that the word was not expected.
  if (std::optional<UnknownWord> unknown = UnknownSubcommand(app, argc, argv)) {
    const std::string command =
        unknown->parent == &app ? "" : unknown->parent->get_name() + " ";
    std::cerr << "backout: error: unknown command '" << command << unknown->word << "'"
              << backout::DidYouMean(unknown->word, SubcommandNames(*unknown->parent))
              << (command.empty() ? "\nRun with --help for the list of commands.\n"
                                  : "\nRun `backout " + command + "--help` for its commands.\n");
    return 2;
  }
  std::map<std::string, std::string> approvals;
  try {
    app.parse(argc, argv);
    approvals = ParseApprovals(approve_raw);
    if (resolve->parsed() && applied == not_applied) {
      throw CLI::ValidationError("resolve", "give exactly one of --applied or --not-applied");
    }
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (completion->parsed()) {
    backout::Result<std::string> script = cli::CompletionScript(app, completion_shell);
    if (!script.ok()) {
      std::cerr << "backout: error: " << script.status().message() << "\n";
      return 2;
    }
    std::cout << *script;
    return 0;
  }

  Env* env = Env::Default();
  // An empty flag or variable counts as not given.
  auto first_set = [&](const std::string& flag, const char* var, const std::string& fallback) {
    if (!flag.empty()) return flag;
    std::optional<std::string> value = env->GetVar(var);
    return value && !value->empty() ? *value : fallback;
  };
  cli::Common common;
  common.journal_dir = first_set(journal_flag, "BACKOUT_JOURNAL", ".backout");
  common.operator_name = first_set(operator_flag, "BACKOUT_OPERATOR", env->LoginName());
  if (!journal_key.ok()) {
    std::cerr << "backout: error: " << journal_key.status().message() << "\n";
    return 2;
  }
  common.journal_key = backout::journal::ChainKey(*journal_key);
  // Masked like a `${VAR}` value wherever a step's output or error is written: a step that
  // finds the key elsewhere (a copy in a file) still cannot get it into the journal.
  if (!journal_key->empty()) common.secrets.push_back(*journal_key);
  if (!signing_key.ok()) {
    std::cerr << "backout: error: " << signing_key.status().message() << "\n";
    return 2;
  }
  common.signing_key = *signing_key;
  // Test hook: injected write faults below the journal (docs/cli.md, BACKOUT_JOURNAL_FAULT).
  if (std::optional<std::string> fault = env->GetVar("BACKOUT_JOURNAL_FAULT");
      fault && !fault->empty()) {
    if (backout::Status s = backout::journal::EnableJournalFaults(*fault); !s.ok()) {
      std::cerr << "backout: error: " << s.message() << "\n";
      return 2;
    }
  }
  InstallSignalHandlers();

  if (validate->parsed()) {
    return cli::Validate(common, plan_file, {.connect = connect, .json = json});
  }
  if (plan->parsed()) return cli::PlanPreview(common, plan_file, json, plan_output);
  if (test->parsed()) {
    return cli::TestPlan(plan_file, spec_file, {.json = json, .junit_file = junit_file});
  }
  if (run->parsed()) {
    return cli::Run(common, plan_file, approvals,
                    {.dry_run = dry_run,
                     .rehearse = rehearse,
                     .again = again,
                     .skip_preflight = skip_preflight});
  }
  if (capture->parsed()) {
    return cli::Capture(common, plan_file, capture_name, capture_backup_to, skip_preflight);
  }
  if (resume->parsed()) return cli::Resume(common, run_id, approvals, skip_preflight);
  if (status->parsed()) return cli::ShowStatus(common, run_id, json);
  if (events->parsed()) return cli::Events(common, run_id, json);
  if (approve->parsed()) return cli::Approve(common, run_id, step, phrase);
  if (resolve->parsed()) return cli::Resolve(common, run_id, step, applied);
  if (abort->parsed()) return cli::Abort(common, run_id, reason);
  if (note->parsed()) return cli::Note(common, run_id, text);
  if (verify->parsed()) return cli::Verify(common, run_id, verify_options);
  if (export_run->parsed()) return cli::Export(common, run_id, export_output, export_with_logs);
  if (import_run->parsed()) return cli::Import(common, import_file, public_key_file);
  if (replay->parsed()) return cli::Replay(common, replay_request);
  if (triage->parsed()) return cli::Triage(common, plan_file, issue, severity, triage_run);
  // Backups kept at an s3:// URL are checked and deleted through the backup adapters' S3
  // client, with the store settings their step journaled.
  cli::S3BackupObjects s3_objects;
  backout::catalog::ObjectStore* const objects = &s3_objects;
  if (backups_list->parsed()) return cli::BackupsList(common, objects, backups_target, json);
  if (backups_show->parsed()) return cli::BackupsShow(common, objects, backup_id, json);
  if (backups_verify->parsed()) return cli::BackupsVerify(common, objects, backup_ids, json);
  if (backups_prune->parsed()) return cli::BackupsPrune(common, objects, prune_options);
  if (report->parsed()) {
    return cli::WriteReport(common, run_id, report_format, report_file, embed_plan);
  }
  return 2;
}
