// `backout plan` and `backout run --dry-run`: the preview of a checked plan
// (preview/preview.h), as text or JSON, on stdout or in a file.
#pragma once

#include <string>

#include "adapters/adapter.h"
#include "cli/commands.h"
#include "plan/plan.h"

namespace backout::cli {

struct PreviewOutput {
  bool json = false;
  std::string output_file;  // empty: stdout; else written atomically with mode 0600
};

// Prints (or writes) the preview of `plan`, checked already against `registry`; returns the
// exit code: 0, or 2 when the output file cannot be written (or on an internal error).
int WritePreview(const Common& c, const plan::Plan& plan, const adapters::Registry& registry,
                 const PreviewOutput& output);

}  // namespace backout::cli
