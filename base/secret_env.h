// Taking a secret out of the process environment so that no child, and no reader of
// /proc/PID/environ, sees it; and reading a secret from a file that only its owner can read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backout {

// Returns the value of the environment variable `name` (the first one, as getenv would;
// nullopt when it is not set), removes every `name=` entry from `environ`, and overwrites
// the bytes of those entries with NULs where they are.
//
// Why in place: unsetenv() only drops the pointer from `environ`; the kernel shows
// /proc/PID/environ from the block the entries were copied to at exec, which unsetenv never
// touches, so any process of the same user (a step's command reading /proc/$PPID/environ)
// could still read the value. The alternative, re-executing ourselves without the variable,
// would give the same result at the price of a second exec on every command and a window in
// which the first image still holds it; overwriting is immediate and keeps our pid. Call it
// first thing in main, before any thread starts (environ is not thread-safe), and keep no
// other pointer into the entry.
std::optional<std::string> TakeFromEnvironment(std::string_view name);

// The contents of a secret key file, without one trailing newline (files written by `echo`).
// Refused like ssh refuses a private key: kFailedPrecondition when the file is not a regular
// file, is owned by another user than the effective one, or can be read or written by its
// group or by others (any of mode 077); kNotFound / kIOError when it cannot be read;
// kInvalidArgument when it is empty.
Result<std::string> ReadSecretFile(const std::filesystem::path& path);

}  // namespace backout
