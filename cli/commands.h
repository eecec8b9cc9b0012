// The `backout` subcommands. Each returns the process exit code (design section 4):
//   0 done / run succeeded, 1 run failed or aborted, 2 usage or plan error, 3 run paused,
//   4 journal integrity error, 5 run locked by another runner.
#pragma once

#include <atomic>
#include <map>
#include <string>

namespace backout::cli {

struct Common {
  std::string journal_dir;  // resolved: --journal, $BACKOUT_JOURNAL, ./.backout
  std::string operator_name;  // resolved: --operator, $BACKOUT_OPERATOR, login name
};

int Validate(const std::string& plan_file);
int Run(const Common& c, const std::string& plan_file,
        const std::map<std::string, std::string>& approvals, bool dry_run);
int Resume(const Common& c, const std::string& run_id,
           const std::map<std::string, std::string>& approvals);
int Status(const Common& c, const std::string& run_id, bool json);  // empty id: all runs
int Events(const Common& c, const std::string& run_id, bool json);
int Approve(const Common& c, const std::string& run_id, const std::string& step,
            const std::string& phrase);
int Resolve(const Common& c, const std::string& run_id, const std::string& step, bool applied);
int Abort(const Common& c, const std::string& run_id, const std::string& reason);
int Note(const Common& c, const std::string& run_id, const std::string& text);
int Verify(const Common& c, const std::string& run_id);

// Set by SIGINT/SIGTERM.
std::atomic<bool>& CancelFlag();

}  // namespace backout::cli
