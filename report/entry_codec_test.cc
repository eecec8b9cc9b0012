#include "report/entry_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace backout::report {
namespace {

// Every field set to something other than its default, so a field the codec forgot (or
// swapped with another of its type) shows.
TimelineEntry FullTimelineEntry() {
  return TimelineEntry{.seq = std::numeric_limits<std::uint64_t>::max(),
                       .time_us = -1,
                       .since_start_ms = 1234,
                       .type = "NoteAdded",
                       .operator_name = "alice",
                       .host = "db-admin-01",
                       .os_user = OsUser{.uid = 0, .name = "root"},
                       .identity_mismatch = true,
                       .step = "drop",
                       .text = std::string("bytes \0\xff\n|<b>", 12),
                       .key = true};
}

Interruption FullInterruption() {
  return Interruption{.kind = Interruption::Kind::kCrash,
                      .reason = "signal",
                      .step = "drop",
                      .from_us = 10,
                      .until_us = 20,
                      .gap_ms = 0,
                      .resumed_by = "bob",
                      .in_doubt_steps = {"drop", "", "restore"}};
}

Preflight FullPreflight() {
  return Preflight{.event = "RunStarted",
                   .by = "carol",
                   .at_us = 5,
                   .skipped = true,
                   .checks = {sm::PreflightCheck{.target = "db", .steps = {"a", "b"}, .check = "x"},
                              sm::PreflightCheck{}}};
}

template <typename T>
T RoundTrip(const T& entry) {
  std::string bytes;
  EncodeEntry(entry, &bytes);
  T back;
  const Status decoded = DecodeEntry(bytes, &back);
  EXPECT_TRUE(decoded.ok()) << decoded.message();
  return back;
}

template <typename T>
void ExpectEveryDamageRefused(const T& entry) {
  std::string bytes;
  EncodeEntry(entry, &bytes);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    T back;
    const Status decoded = DecodeEntry(std::string_view(bytes).substr(0, cut), &back);
    EXPECT_EQ(decoded.code(), Code::kCorruption) << "cut at " << cut << " of " << bytes.size();
  }
  T back;
  EXPECT_EQ(DecodeEntry(bytes + "x", &back).code(), Code::kCorruption) << "a byte after it";
}

TEST(EntryCodec, EveryListsEntryComesBackAsItWent) {
  EXPECT_EQ(RoundTrip(FullTimelineEntry()), FullTimelineEntry());
  EXPECT_EQ(RoundTrip(TimelineEntry{}), TimelineEntry{}) << "no OS user";
  const Decision decision{.kind = Decision::Kind::kResolve, .step = "s", .by = "b",
                          .at_us = 3, .answer = "applied", .via = "resolve",
                          .requested_us = 2, .waited_ms = 7};
  EXPECT_EQ(RoundTrip(decision), decision);
  const StepError error{.step = "s", .attempt = -2, .at_us = 9, .message = "denied"};
  EXPECT_EQ(RoundTrip(error), error);
  const Note note{.by = "erin", .at_us = 11, .text = "looks fine"};
  EXPECT_EQ(RoundTrip(note), note);
  const Triage triage{.by = "f", .at_us = 12, .issue = "INC-1", .severity = "sev2",
                      .action = "monitor", .note = "n"};
  EXPECT_EQ(RoundTrip(triage), triage);
  EXPECT_EQ(RoundTrip(FullInterruption()), FullInterruption());
  EXPECT_EQ(RoundTrip(Interruption{}), Interruption{}) << "no gap yet";
  EXPECT_EQ(RoundTrip(FullPreflight()), FullPreflight());
  const StepLog log{.step = "s", .attempt = 2, .seq = 40, .file = "s.2.log", .bytes = 99,
                    .sha256 = "ab"};
  EXPECT_EQ(RoundTrip(log), log);
}

// A reader decodes every entry of a list into one kept entry (its strings keep their
// capacity): nothing of the entry before may show through.
template <typename T>
void ExpectDecodedOver(const T& kept, const T& entry) {
  std::string bytes;
  EncodeEntry(entry, &bytes);
  T back = kept;
  ASSERT_TRUE(DecodeEntry(bytes, &back).ok());
  EXPECT_EQ(back, entry);
}

TEST(EntryCodec, AnEntryDecodedOverAnotherKeepsNothingOfIt) {
  ExpectDecodedOver(FullTimelineEntry(), TimelineEntry{});
  ExpectDecodedOver(TimelineEntry{}, FullTimelineEntry());
  TimelineEntry other_user = FullTimelineEntry();
  other_user.os_user = OsUser{.uid = 7, .name = ""};
  ExpectDecodedOver(FullTimelineEntry(), other_user);
  Interruption fewer = FullInterruption();
  fewer.in_doubt_steps = {"x"};
  ExpectDecodedOver(FullInterruption(), fewer);
  ExpectDecodedOver(fewer, FullInterruption());
  ExpectDecodedOver(FullPreflight(), Preflight{});
}

TEST(EntryCodec, AnEntryCutShortOrFollowedByMoreIsCorruption) {
  ExpectEveryDamageRefused(FullTimelineEntry());
  ExpectEveryDamageRefused(FullInterruption());
  ExpectEveryDamageRefused(FullPreflight());
}

TEST(EntryCodec, AnOptionalsFlagIsZeroOrOne) {
  std::string bytes;
  EncodeEntry(FullInterruption(), &bytes);
  // The gap's flag follows kind, reason, step, from and until.
  const std::size_t flag = 8 + (4 + 6) + (4 + 4) + 8 + 8;
  ASSERT_EQ(bytes[flag], '\1');
  bytes[flag] = '\2';
  Interruption back;
  const Status decoded = DecodeEntry(bytes, &back);
  EXPECT_EQ(decoded.code(), Code::kCorruption);
  EXPECT_NE(decoded.message().find("neither 0 nor 1"), std::string::npos) << decoded.message();
}

}  // namespace
}  // namespace backout::report
