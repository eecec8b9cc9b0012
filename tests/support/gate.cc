#include "tests/support/gate.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

namespace backout::testing {
namespace fs = std::filesystem;

GatedExample::GatedExample() : Example(FromDir{SourceDir() / "tests/data/gate"}, 0) {}

bool GatedExample::Entered() const { return fs::exists(dir() / "gate.entered"); }

void GatedExample::ForgetEntered() const { fs::remove(dir() / "gate.entered"); }

bool GatedExample::OpenGate() const {
  // A non-blocking open for writing fails (ENXIO) until the step's `cat` has the pipe open
  // for reading; once it succeeds, closing it gives `cat` its end of file.
  int fd = -1;
  const bool reader = WaitFor(
      [&] {
        fd = ::open((dir() / "gate.fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return fd >= 0;
      },
      std::chrono::minutes(1));
  if (reader) ::close(fd);
  return reader;
}

std::string GatedExample::WrittenRows() const {
  return RunProcess({.argv = {"/usr/bin/sqlite3", (dir() / "app.db").string(),
                              "SELECT count(*) FROM t"}})
      .out;
}

}  // namespace backout::testing
