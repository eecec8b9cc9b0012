#include "report/entry_codec.h"

#include <fmt/format.h>

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

namespace backout::report {
namespace {

// Each entry's fields, once, for both directions: `field` is a Writer (const entry) or a
// Reader.
template <typename Field, typename E>
void Fields(Field& field, E& e) {
  using Entry = std::remove_const_t<E>;
  if constexpr (std::is_same_v<Entry, TimelineEntry>) {
    field(e.seq, e.time_us, e.since_start_ms, e.type, e.operator_name, e.host, e.os_user,
          e.identity_mismatch, e.step, e.text, e.key);
  } else if constexpr (std::is_same_v<Entry, Decision>) {
    field(e.kind, e.step, e.by, e.at_us, e.answer, e.via, e.requested_us, e.waited_ms);
  } else if constexpr (std::is_same_v<Entry, StepError>) {
    field(e.step, e.attempt, e.at_us, e.message);
  } else if constexpr (std::is_same_v<Entry, Note>) {
    field(e.by, e.at_us, e.text);
  } else if constexpr (std::is_same_v<Entry, Triage>) {
    field(e.by, e.at_us, e.issue, e.severity, e.action, e.note);
  } else if constexpr (std::is_same_v<Entry, Interruption>) {
    field(e.kind, e.reason, e.step, e.from_us, e.until_us, e.gap_ms, e.resumed_by,
          e.in_doubt_steps);
  } else if constexpr (std::is_same_v<Entry, Preflight>) {
    field(e.event, e.by, e.at_us, e.skipped, e.checks);
  } else if constexpr (std::is_same_v<Entry, StepLog>) {
    field(e.step, e.attempt, e.seq, e.file, e.bytes, e.sha256);
  } else if constexpr (std::is_same_v<Entry, sm::PreflightCheck>) {
    field(e.target, e.steps, e.check);
  } else if constexpr (std::is_same_v<Entry, OsUser>) {
    field(e.uid, e.name);
  } else {
    static_assert(sizeof(Entry) == 0, "an entry without fields");
  }
}

template <typename T>
concept Scalar = std::integral<T> || std::is_enum_v<T>;

// Numbers are little-endian, the order of every machine backout runs on, so a number is
// stored and loaded with one copy: a spool holds millions of them.
static_assert(std::endian::native == std::endian::little, "spooled numbers in memory order");

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  template <typename... T>
    requires(sizeof...(T) > 1)
  void operator()(const T&... values) {
    ((*this)(values), ...);
  }

  template <Scalar T>
  void operator()(const T& value) {
    Word(static_cast<std::uint64_t>(value));
  }
  void operator()(const std::string& text) {
    Count(text.size());
    out_->append(text);
  }
  template <typename T>
  void operator()(const std::optional<T>& value) {
    out_->push_back(value ? '\1' : '\0');
    if (value) (*this)(*value);
  }
  template <typename T>
  void operator()(const std::vector<T>& items) {
    Count(items.size());
    for (const T& item : items) (*this)(item);
  }
  template <typename T>
    requires std::is_class_v<T>
  void operator()(const T& nested) {
    Fields(*this, nested);
  }

 private:
  void Word(std::uint64_t v) { LittleEndian<8>(v); }
  void Count(std::size_t n) { LittleEndian<4>(n); }
  template <std::size_t kBytes>
  void LittleEndian(std::uint64_t v) {
    char bytes[kBytes];
    std::memcpy(bytes, &v, kBytes);  // the low bytes, as v is little-endian
    out_->append(bytes, kBytes);
  }

  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  template <typename... T>
    requires(sizeof...(T) > 1)
  void operator()(T&... values) {
    ((*this)(values), ...);
  }

  template <Scalar T>
  void operator()(T& value) {
    value = static_cast<T>(LittleEndian<8>("a number"));
  }
  void operator()(std::string& text) {
    const std::size_t n = Count();
    if (const std::optional<std::string_view> bytes = Take(n, "a text")) text.assign(*bytes);
  }
  template <typename T>
  void operator()(std::optional<T>& value) {
    const std::optional<std::string_view> flag = Take(1, "an optional's flag");
    if (!flag) return;
    if ((*flag)[0] == '\0') {
      value.reset();
    } else if ((*flag)[0] == '\1') {
      (*this)(value ? *value : value.emplace());  // a kept value keeps its strings' capacity
    } else {
      Fail("an optional's flag is neither 0 nor 1");
    }
  }
  template <typename T>
  void operator()(std::vector<T>& items) {
    const std::size_t n = Count();
    // Each item takes a byte at least: a count beyond what is left is damage, not a reserve.
    if (n > in_.size()) {
      items.clear();
      return Fail("a list is longer than what is left");
    }
    items.resize(n);  // kept items keep their strings' capacity; every field is read over
    for (std::size_t i = 0; i < n && status_.ok(); ++i) (*this)(items[i]);
  }
  template <typename T>
    requires std::is_class_v<T>
  void operator()(T& nested) {
    Fields(*this, nested);
  }

  Status Finish() {
    if (status_.ok() && !in_.empty()) Fail(fmt::format("{} bytes after the entry", in_.size()));
    return status_;
  }

 private:
  std::size_t Count() { return static_cast<std::size_t>(LittleEndian<4>("a count")); }
  // 0 when the entry is cut short (and the reader failed).
  template <std::size_t kBytes>
  std::uint64_t LittleEndian(std::string_view what) {
    std::uint64_t v = 0;
    if (const std::optional<std::string_view> bytes = Take(kBytes, what)) {
      std::memcpy(&v, bytes->data(), kBytes);  // into the low bytes, as v is little-endian
    }
    return v;
  }
  std::optional<std::string_view> Take(std::size_t n, std::string_view what) {
    if (!status_.ok()) return std::nullopt;
    if (in_.size() < n) {
      CutShort(what);
      return std::nullopt;
    }
    const std::string_view taken = in_.substr(0, n);
    in_.remove_prefix(n);
    return taken;
  }
  // Out of line, so that Take, called for every field, inlines without the formatting.
  [[gnu::cold, gnu::noinline]] void CutShort(std::string_view what) {
    Fail(fmt::format("{} is cut short", what));
  }
  void Fail(std::string why) {
    if (status_.ok()) status_ = Status::Corruption("a spooled report entry: " + std::move(why));
  }

  std::string_view in_;
  Status status_;
};

template <typename E>
void Encode(const E& entry, std::string* out) {
  Writer writer(out);
  Fields(writer, entry);
}

template <typename E>
Status Decode(std::string_view bytes, E* entry) {
  Reader reader(bytes);
  Fields(reader, *entry);
  return reader.Finish();
}

}  // namespace

void EncodeEntry(const TimelineEntry& entry, std::string* out) { Encode(entry, out); }
void EncodeEntry(const Decision& entry, std::string* out) { Encode(entry, out); }
void EncodeEntry(const StepError& entry, std::string* out) { Encode(entry, out); }
void EncodeEntry(const Note& entry, std::string* out) { Encode(entry, out); }
void EncodeEntry(const Triage& entry, std::string* out) { Encode(entry, out); }
void EncodeEntry(const Interruption& entry, std::string* out) { Encode(entry, out); }
void EncodeEntry(const Preflight& entry, std::string* out) { Encode(entry, out); }
void EncodeEntry(const StepLog& entry, std::string* out) { Encode(entry, out); }

Status DecodeEntry(std::string_view bytes, TimelineEntry* entry) { return Decode(bytes, entry); }
Status DecodeEntry(std::string_view bytes, Decision* entry) { return Decode(bytes, entry); }
Status DecodeEntry(std::string_view bytes, StepError* entry) { return Decode(bytes, entry); }
Status DecodeEntry(std::string_view bytes, Note* entry) { return Decode(bytes, entry); }
Status DecodeEntry(std::string_view bytes, Triage* entry) { return Decode(bytes, entry); }
Status DecodeEntry(std::string_view bytes, Interruption* entry) { return Decode(bytes, entry); }
Status DecodeEntry(std::string_view bytes, Preflight* entry) { return Decode(bytes, entry); }
Status DecodeEntry(std::string_view bytes, StepLog* entry) { return Decode(bytes, entry); }

}  // namespace backout::report
