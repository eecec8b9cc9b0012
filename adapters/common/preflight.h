// Preflight checks shared by the adapters (adapter.h: Preflight): a file that must be there
// (a restore source), a place that must take a write (a backup destination), a server that
// must accept a connection. Nothing here changes the file system or sends a request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/common/run.h"

namespace backout::adapters::common {

// True when `value` is, or holds, a reference known only at run time (`${steps...}`):
// PreflightRequest leaves those unexpanded, and a check that depends on one is skipped.
bool KnownOnlyAtRunTime(std::string_view value);

// The string at `key` of `object` (a PreflightRequest's target or params) when it is a
// non-empty string known before the run; nullopt when it is absent, not a string, empty, or
// KnownOnlyAtRunTime.
std::optional<std::string> KnownString(const nlohmann::json& object, std::string_view key);

// `from` (a plan path, resolved against `base_dir`) is a regular file this process can read,
// and, when `expected_sha256` is given, its SHA-256 is that. The finding's check names the
// path as the plan wrote it, its size, and "sha256 matches" when one was compared.
PreflightFinding CheckRestoreSource(const std::filesystem::path& base_dir, const std::string& from,
                                    const std::optional<std::string>& expected_sha256);
// The same for any file an action reads: `what` names it in the finding ("copy source").
PreflightFinding CheckSourceFile(const std::filesystem::path& base_dir, const std::string& from,
                                 const std::optional<std::string>& expected_sha256,
                                 std::string_view what);

// A backup written to `to` (BackupFilePath's rules: a folder when it ends with '/' or is one,
// created when missing; else a file whose folder is created) can be created: the nearest
// existing folder on the way is writable and searchable, and its file system has at least
// `bytes_needed` free for this user (the target's current size: a backup is about as large).
PreflightFinding CheckBackupDestination(const std::filesystem::path& base_dir, const std::string& to,
                                        std::uint64_t bytes_needed);
// The same for any file an action writes: `what` names it in the finding ("env file").
PreflightFinding CheckDestination(const std::filesystem::path& base_dir, const std::string& to,
                                  std::uint64_t bytes_needed, std::string_view what);

// The host of `url` (http:// or https://; the port from the URL, else 80 or 443) resolves,
// and a TCP connection to it opens within `timeout` (closed at once: no request is sent).
// The finding names the URL's origin only (a path or query may hold a secret). kUnavailable
// when the host does not resolve or refuses; kCancelled when `cancel` fires while waiting.
// How long preflight waits for a TCP connection (an http target, a webhook).
inline constexpr std::chrono::milliseconds kConnectTimeout{5000};
PreflightFinding CheckReachable(const std::string& url, std::chrono::milliseconds timeout,
                                const std::atomic<bool>* cancel);

// The frame of the Preflight() of an adapter checked by an InvocationValidator (run.h), as
// RunValidated is of its Run(): the request is checked as at plan time (References::kUnresolved,
// since `${steps...}` are still references); problems become one kInvalidArgument finding
// "parameters" (DescribeErrors) and nothing else is checked. Else returns `check()`. An
// exception from either becomes a kIOError finding "preflight" instead of leaving the adapter.
std::vector<PreflightFinding> PreflightValidated(
    const PreflightRequest& request, InvocationValidator validate,
    const std::function<std::vector<PreflightFinding>()>& check);

}  // namespace backout::adapters::common
