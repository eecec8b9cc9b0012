#include "adapters/common/preflight.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "adapters/common/files.h"
#include "adapters/net/http_client.h"
#include "base/sha256.h"

namespace backout::adapters::common {

namespace fs = std::filesystem;

bool KnownOnlyAtRunTime(std::string_view value) {
  return value.find("${steps.") != std::string_view::npos;
}

std::optional<std::string> KnownString(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const std::string& value = it->get_ref<const std::string&>();
  if (value.empty() || KnownOnlyAtRunTime(value)) return std::nullopt;
  return value;
}

PreflightFinding CheckRestoreSource(const fs::path& base_dir, const std::string& from,
                                    const std::optional<std::string>& expected_sha256) {
  return CheckSourceFile(base_dir, from, expected_sha256, "restore source");
}

PreflightFinding CheckSourceFile(const fs::path& base_dir, const std::string& from,
                                 const std::optional<std::string>& expected_sha256,
                                 std::string_view what) {
  PreflightFinding finding{.check = fmt::format("{} {}", what, from), .status = {}};
  const fs::path path = ResolvePath(base_dir, from);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    finding.status = errno == ENOENT
                         ? Status::NotFound(fmt::format("{} {} does not exist", what, from))
                         : ErrnoError(what, path);
    return finding;
  }
  if (!S_ISREG(st.st_mode)) {
    finding.status = Status::FailedPrecondition(
        fmt::format("{} {} is not a regular file", what, from));
    return finding;
  }
  if (::access(path.c_str(), R_OK) != 0) {
    finding.status = ErrnoError(what, path);
    return finding;
  }
  finding.check += fmt::format(" ({} bytes", st.st_size);
  if (expected_sha256) {
    Result<FileDigest> digest = Sha256File(path);
    if (!digest.ok()) {
      finding.status = digest.status();
      return finding;
    }
    if (digest->sha256_hex != *expected_sha256) {
      finding.status = Status::ExpectationFailed(fmt::format(
          "{} {} has sha256 {}, the plan expects {}", what, from, digest->sha256_hex,
          *expected_sha256));
      return finding;
    }
    finding.check += ", sha256 matches";
  }
  finding.check += ")";
  return finding;
}

PreflightFinding CheckBackupDestination(const fs::path& base_dir, const std::string& to,
                                        std::uint64_t bytes_needed) {
  return CheckDestination(base_dir, to, bytes_needed, "backup destination");
}

PreflightFinding CheckDestination(const fs::path& base_dir, const std::string& to,
                                  std::uint64_t bytes_needed, std::string_view what) {
  PreflightFinding finding{.check = fmt::format("{} {}", what, to), .status = {}};
  const fs::path resolved = ResolvePath(base_dir, to);
  std::error_code ignored;  // "cannot tell" counts as "not a folder", as BackupFilePath does
  fs::path folder = to.ends_with('/') || fs::is_directory(resolved, ignored)
                        ? resolved
                        : resolved.parent_path();
  // Missing folders are created by the backup: the nearest existing one must take them.
  while (!folder.empty() && !fs::exists(folder, ignored) && folder != folder.parent_path()) {
    folder = folder.parent_path();
  }
  if (::access(folder.c_str(), W_OK | X_OK) != 0) {
    finding.status = ErrnoError(what, folder);
    return finding;
  }
  struct statvfs vfs {};
  if (::statvfs(folder.c_str(), &vfs) != 0) {
    finding.status = ErrnoError(what, folder);
    return finding;
  }
  const std::uint64_t available = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (available < bytes_needed) {
    finding.status = Status::FailedPrecondition(fmt::format(
        "{} {} has {} bytes free, about {} are needed", what, to, available, bytes_needed));
    return finding;
  }
  finding.check += fmt::format(" (writable, {} bytes free, about {} needed)", available,
                               bytes_needed);
  return finding;
}

namespace {

struct HostPort {
  std::string host;
  std::string port;
};

// The host and port of an http(s) URL: scheme://[user@]host[:port][/...]; IPv6 in brackets.
Result<HostPort> HostPortOf(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Status::InvalidArgument("not an http or https URL");
  }
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("not an http or https URL");
  }
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  HostPort hp{.host = "", .port = scheme == "https" ? "443" : "80"};
  std::string_view rest;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("unclosed '[' in host");
    hp.host = std::string(authority.substr(1, close - 1));
    rest = authority.substr(close + 1);
  } else {
    const std::size_t colon = authority.rfind(':');
    hp.host = std::string(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? "" : authority.substr(colon);
  }
  if (rest.starts_with(':') && rest.size() > 1) hp.port = std::string(rest.substr(1));
  if (hp.host.empty()) return Status::InvalidArgument("no host");
  return hp;
}

// Connects a non-blocking socket to `address`, waiting at most until `deadline`; 0 or errno.
int ConnectOnce(const addrinfo& address, std::chrono::steady_clock::time_point deadline,
                const std::atomic<bool>* cancel) {
  const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          address.ai_protocol);
  if (fd < 0) return errno;
  int error = ::connect(fd, address.ai_addr, address.ai_addrlen) == 0 ? 0 : errno;
  while (error == EINPROGRESS) {
    if (cancel != nullptr && cancel->load()) {
      error = ECANCELED;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      error = ETIMEDOUT;
      break;
    }
    pollfd waiting{.fd = fd, .events = POLLOUT, .revents = 0};
    // Short slices, so that a cancellation is seen soon.
    const int ready = ::poll(&waiting, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    if (ready < 0 && errno != EINTR) {
      error = errno;
    } else if (ready > 0) {
      socklen_t size = sizeof(error);
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    }
  }
  ::close(fd);
  return error;
}

}  // namespace

PreflightFinding CheckReachable(const std::string& url, std::chrono::milliseconds timeout,
                                const std::atomic<bool>* cancel) {
  const std::string origin = net::OriginOf(url);
  PreflightFinding finding{.check = fmt::format("connect to {}", origin), .status = {}};
  Result<HostPort> hp = HostPortOf(url);
  if (!hp.ok()) {
    finding.status = hp.status().WithContext(origin);
    return finding;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (const int rc = ::getaddrinfo(hp->host.c_str(), hp->port.c_str(), &hints, &addresses);
      rc != 0) {
    finding.status = Status::Unavailable(fmt::format("host {} of {} does not resolve: {}",
                                                     hp->host, origin, ::gai_strerror(rc)));
    return finding;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int error = ENOENT;
  for (const addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    error = ConnectOnce(*a, deadline, cancel);
    if (error == 0 || error == ECANCELED) break;
  }
  ::freeaddrinfo(addresses);
  if (error == ECANCELED) {
    finding.status = Status::Cancelled("cancelled");
  } else if (error != 0) {
    finding.status = Status::Unavailable(
        fmt::format("cannot connect to {}: {}", origin, std::strerror(error)));
  } else {
    finding.check += " (host resolves, TCP connection opens)";
  }
  return finding;
}

std::vector<PreflightFinding> PreflightValidated(
    const PreflightRequest& request, InvocationValidator validate,
    const std::function<std::vector<PreflightFinding>()>& check) {
  try {
    if (const std::vector<ParamError> errors = validate(request.action, request.target,
                                                        request.params, References::kUnresolved);
        !errors.empty()) {
      return {PreflightFinding{
          .check = "parameters",
          .status = Status::InvalidArgument(DescribeErrors(errors, ParamsNoun::kParams,
                                                           request.action))}};
    }
    return check();
  } catch (const std::exception& e) {
    return {PreflightFinding{
        .check = "preflight",
        .status = Status::IOError(
            fmt::format("{}: unexpected error in preflight: {}", request.action, e.what()))}};
  }
}

}  // namespace backout::adapters::common
