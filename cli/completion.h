// Shell completion scripts for `backout`, written from the CLI11 app itself, so the
// subcommands and flags they offer are always the ones the binary parses (`backout completion
// bash|zsh`; CMake writes both at build time and `cmake --install` installs them).
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "base/status.h"

namespace backout::cli {

// The completion script of `app` for `shell` ("bash" or "zsh"): every subcommand that
// `--help` lists (hidden ones, whose group is empty, are left out) with its options' long
// and short names; words that are not options complete as file names. kInvalidArgument for
// another shell.
Result<std::string> CompletionScript(const CLI::App& app, std::string_view shell);

}  // namespace backout::cli
