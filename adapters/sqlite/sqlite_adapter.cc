#include "adapters/sqlite/sqlite_adapter.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "adapters/common/files.h"
#include "adapters/common/run.h"
#include "adapters/sqlite/actions.h"
#include "adapters/sqlite/params.h"
#include "adapters/sqlite/target_lock.h"

namespace backout::adapters {
namespace {

using common::FromResult;
using nlohmann::json;
using sqlite::Action;
using sqlite::ActionContext;
using sqlite::References;

constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};

std::chrono::milliseconds BusyTimeout(const json& target) {
  const auto it = target.find("busy_timeout");
  if (it == target.end()) return kDefaultBusyTimeout;
  return std::chrono::milliseconds(*sqlite::AsInteger(*it));
}

Outcome Dispatch(Action action, const ActionContext& context) {
  switch (action) {
    case Action::kSql:
      return FromResult(sqlite::RunSql(context));
    case Action::kBackup:
      return FromResult(sqlite::RunBackup(context));
    case Action::kRestore:
      return FromResult(sqlite::RunRestore(context));
    case Action::kBaseline:
      return FromResult(sqlite::RunBaseline(context));
    case Action::kVerify:
      return sqlite::RunVerify(context);
    case Action::kQuery:
      return sqlite::RunQuery(context);
  }
  return Outcome{Status::InvalidArgument("unknown sqlite action")};  // unreachable: validated
}

class SqliteAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return SqliteVocabulary(); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return sqlite::ValidateInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunValidated(invocation, sqlite::ValidateInvocation, [&] {
      const ActionContext context(invocation);
      return Dispatch(*sqlite::ParseAction(invocation.action), context);
    });
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return SqlitePreflight(request);
  }

  // One sidecar flock per database file, by its canonical path: two targets (or a symlink)
  // naming one file share the lock, since a second flock from this process on another
  // descriptor would be refused like anybody else's.
  Status Lock(const LockRequest& request) override {
    const auto path = request.target.find("path");
    if (path == request.target.end() || !path->is_string()) {
      return Status::InvalidArgument("sqlite target has no 'path'");
    }
    std::error_code error;
    std::filesystem::path database =
        common::ResolvePath(request.base_dir, path->get_ref<const std::string&>());
    if (std::filesystem::path canonical = std::filesystem::weakly_canonical(database, error);
        !error) {
      database = std::move(canonical);
    }
    if (locks_.contains(database)) return Status::Ok();
    Result<sqlite::TargetLock> lock =
        sqlite::TargetLock::Take(database, request.run_id, request.same_run_wait, request.cancel,
                                 *request.env);
    if (!lock.ok()) return lock.status();
    locks_.emplace(database, std::move(lock).value());
    return Status::Ok();
  }

  // The copy is a backup (online backup API, one snapshot, written under a temporary name
  // and renamed when complete) into the run's scratch directory.
  bool CanCopyForRehearsal() const override { return true; }

  Result<json> MakeRehearsalCopy(const json& target, const RehearsalScratch& scratch) override {
    const std::filesystem::path copy = scratch.dir / (scratch.name + ".db");
    json copy_target = target;
    copy_target["path"] = copy.string();
    std::error_code ignored;  // "cannot tell" makes a new copy, which replaces any old one
    if (std::filesystem::exists(copy, ignored)) return copy_target;
    Invocation backup;
    backup.action = "backup";
    backup.target = target;
    backup.params = {{"target", "rehearsal"}, {"to", copy.string()}};
    backup.step_id = "rehearsal-copy";
    backup.base_dir = scratch.base_dir;
    backup.cancel = scratch.cancel;
    backup.progress = scratch.progress;
    Outcome made = Run(backup);
    if (!made.status.ok()) return made.status;
    return copy_target;
  }

  Status DropRehearsalCopy(const json& copy, const RehearsalScratch& /*scratch*/) override {
    const std::filesystem::path path = copy.at("path").get<std::string>();
    sqlite::RemoveWithSideFiles(path);
    // The copy's own lock goes with it: the rehearsal that held it has finished.
    std::error_code error;
    const std::filesystem::path canonical = std::filesystem::weakly_canonical(path, error);
    locks_.erase(error ? path : canonical);
    std::filesystem::remove(sqlite::LockFileOf(path), error);
    return Status::Ok();
  }

 private:
  std::map<std::filesystem::path, sqlite::TargetLock> locks_;  // held until destroyed
};

}  // namespace

namespace sqlite {

ActionContext::ActionContext(const Invocation& invocation_in)
    : invocation(invocation_in),
      params(invocation_in.params),
      database(common::ResolvePath(invocation_in.base_dir,
                           invocation_in.target.at("path").get_ref<const std::string&>())),
      busy_timeout(BusyTimeout(invocation_in.target)),
      stop(invocation_in.cancel, invocation_in.timeout, common::kPlainStopWording,
           invocation_in.env) {}

std::filesystem::path ActionContext::Resolve(const std::string& path) const {
  return common::ResolvePath(invocation.base_dir, path);
}

Result<std::unique_ptr<Connection>> ActionContext::Open(const std::filesystem::path& path,
                                                        AccessMode mode) const {
  return Connection::Open(path, mode, busy_timeout, stop);
}

}  // namespace sqlite

std::unique_ptr<Adapter> MakeSqliteAdapter() { return std::make_unique<SqliteAdapter>(); }

}  // namespace backout::adapters
