// The entries of a report's lists that grow with events (EventListSizes), as bytes and back:
// what a one-pass report keeps of a long list until its section is written (cli/report_spool.h).
// The bytes live only as long as the process that wrote them (never journaled, never sent),
// so they carry no version.
//
// Encoding: the entry's fields in declaration order; integers, bools and enums as 8 bytes
// little-endian, strings and lists as a 4-byte count then their bytes or items, an optional
// as a byte (0 unset, 1 set) then its value. DecodeEntry takes exactly one EncodeEntry's
// bytes; anything else (short, trailing bytes, an optional flag other than 0 or 1) is
// kCorruption.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "report/report.h"

namespace backout::report {

void EncodeEntry(const TimelineEntry& entry, std::string* out);
void EncodeEntry(const Decision& entry, std::string* out);
void EncodeEntry(const StepError& entry, std::string* out);
void EncodeEntry(const Note& entry, std::string* out);
void EncodeEntry(const Triage& entry, std::string* out);
void EncodeEntry(const Interruption& entry, std::string* out);
void EncodeEntry(const Preflight& entry, std::string* out);
void EncodeEntry(const StepLog& entry, std::string* out);

Status DecodeEntry(std::string_view bytes, TimelineEntry* entry);
Status DecodeEntry(std::string_view bytes, Decision* entry);
Status DecodeEntry(std::string_view bytes, StepError* entry);
Status DecodeEntry(std::string_view bytes, Note* entry);
Status DecodeEntry(std::string_view bytes, Triage* entry);
Status DecodeEntry(std::string_view bytes, Interruption* entry);
Status DecodeEntry(std::string_view bytes, Preflight* entry);
Status DecodeEntry(std::string_view bytes, StepLog* entry);

}  // namespace backout::report
