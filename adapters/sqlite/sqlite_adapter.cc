#include "adapters/sqlite/sqlite_adapter.h"

#include <fmt/format.h>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "adapters/sqlite/actions.h"
#include "adapters/sqlite/params.h"

namespace backout::adapters {
namespace {

using nlohmann::json;
using sqlite::Action;
using sqlite::ActionContext;
using sqlite::References;

constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};

std::filesystem::path ResolvePath(const std::filesystem::path& base_dir, const std::string& path) {
  std::filesystem::path joined = base_dir / path;  // an absolute `path` replaces base_dir
  std::error_code ignored;  // without a working directory, keep the path as joined
  std::filesystem::path absolute = std::filesystem::absolute(joined, ignored);
  if (!absolute.empty()) joined = std::move(absolute);
  joined = joined.lexically_normal();
  // "backups/" names the directory itself.
  if (!joined.has_filename() && joined.has_relative_path()) joined = joined.parent_path();
  return joined;
}

std::chrono::milliseconds BusyTimeout(const json& target) {
  const auto it = target.find("busy_timeout");
  if (it == target.end()) return kDefaultBusyTimeout;
  return std::chrono::milliseconds(*sqlite::AsInteger(*it));
}

std::string Describe(const std::vector<ParamError>& errors) {
  std::vector<std::string> parts;
  for (const ParamError& error : errors) {
    parts.push_back(fmt::format("{}{}: {}", error.in_target ? "target" : "params", error.pointer,
                                error.message));
  }
  return fmt::format("invalid {}", fmt::join(parts, "; "));
}

Outcome FromResult(Result<json> outputs) {
  if (!outputs.ok()) return Outcome{outputs.status()};
  return Outcome{Status::Ok(), std::move(outputs).value()};
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
  std::string_view type() const override { return "sqlite"; }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return sqlite::ValidateInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    const std::vector<ParamError> errors = sqlite::ValidateInvocation(
        invocation.action, invocation.target, invocation.params, References::kResolved);
    if (!errors.empty()) return Outcome{Status::InvalidArgument(Describe(errors))};
    try {
      const ActionContext context(invocation);
      return Dispatch(*sqlite::ParseAction(invocation.action), context);
    } catch (const std::exception& e) {
      // Parameters are checked above, so json accessors should not throw; should an
      // overlooked case (or bad_alloc) throw, fail the step rather than the whole process.
      return Outcome{
          Status::IOError(fmt::format("{}: unexpected error: {}", invocation.action, e.what()))};
    }
  }
};

}  // namespace

namespace sqlite {

ActionContext::ActionContext(const Invocation& invocation_in)
    : invocation(invocation_in),
      params(invocation_in.params),
      database(ResolvePath(invocation_in.base_dir,
                           invocation_in.target.at("path").get_ref<const std::string&>())),
      busy_timeout(BusyTimeout(invocation_in.target)),
      stop(invocation_in.cancel, invocation_in.timeout) {}

std::filesystem::path ActionContext::Resolve(const std::string& path) const {
  return ResolvePath(invocation.base_dir, path);
}

Result<std::unique_ptr<Connection>> ActionContext::Open(const std::filesystem::path& path,
                                                        AccessMode mode) const {
  return Connection::Open(path, mode, busy_timeout, stop);
}

}  // namespace sqlite

std::unique_ptr<Adapter> MakeSqliteAdapter() { return std::make_unique<SqliteAdapter>(); }

}  // namespace backout::adapters
