// Fuzz target: `backout import FILE` and `replay --file FILE` up to the point where they
// write: the export reader (journal::ParseExport: JSON Lines, re-encoding, hashes, chain)
// and then, as ReadExport in cli/commands.cc does, decoding and folding the events
// (history::SnapshotOfRecords).
//
// Hashes stop almost every mutated file at the reader, which would leave the event decoders
// and the transition tables unfuzzed. So the same input is also read leniently: every line
// that is a JSON object with string "type" and "payload" becomes a record of one run in line
// order (seq 1..n), and those records go to SnapshotOfRecords directly, as if their chain
// had checked out.
//
// Property beyond "no crash": an export that is accepted exports again (ExportRecords) to
// text that is accepted and gives the same records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "history/run_history.h"
#include "journal/export.h"

namespace {

namespace journal = backout::journal;

std::vector<journal::Record> LenientRecords(std::string_view text) {
  std::vector<journal::Record> records;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("type") || !j.contains("payload")) continue;
    if (!j["type"].is_string() || !j["payload"].is_string()) continue;
    records.push_back(journal::Record{.run_id = "fuzz-run",
                                      .seq = records.size() + 1,
                                      .type = j["type"].get<std::string>(),
                                      .payload = j["payload"].get<std::string>()});
  }
  return records;
}

bool SameRecords(const std::vector<journal::Record>& a, const std::vector<journal::Record>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].hash != b[i].hash || a[i].payload != b[i].payload || a[i].type != b[i].type) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const journal::ChainKey no_key;
  backout::Result<std::vector<journal::Record>> records =
      journal::ParseExport(text, "fuzz.jsonl", no_key);
  if (records.ok()) {
    backout::Result<std::string> again = journal::ExportRecords(*records);
    if (!again.ok()) std::abort();  // accepted, but cannot be written back
    backout::Result<std::vector<journal::Record>> reread =
        journal::ParseExport(*again, "again.jsonl", no_key);
    if (!reread.ok() || !SameRecords(*records, *reread)) std::abort();
    (void)backout::history::SnapshotOfRecords(std::move(records).value());
  }
  std::vector<journal::Record> lenient = LenientRecords(text);
  if (!lenient.empty()) (void)backout::history::SnapshotOfRecords(std::move(lenient));
  return 0;
}
