#include "adapters/common/query_check.h"
#include "base/utf8.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

namespace backout::adapters::common {
namespace {

using nlohmann::json;

// long double holds every int64 and every double exactly (x86-64's 64-bit mantissa), so one
// comparison serves integers, reals and mixes of the two.
std::optional<long double> AsNumber(const json& value) {
  if (value.is_boolean()) return value.get<bool>() ? 1.0L : 0.0L;
  if (value.is_number_unsigned()) return static_cast<long double>(value.get<std::uint64_t>());
  if (value.is_number_integer()) return static_cast<long double>(value.get<std::int64_t>());
  if (value.is_number_float()) return static_cast<long double>(value.get<double>());
  return std::nullopt;
}

// `text` as a number when all of it is one decimal number: an integer (exact to 64 bits) or
// a real. Not "inf" or "nan", not " 42" or "+42" (std::from_chars takes neither).
std::optional<long double> DecimalNumber(std::string_view text) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  std::int64_t integer = 0;
  if (const auto [stop, error] = std::from_chars(begin, end, integer);
      error == std::errc() && stop == end) {
    return static_cast<long double>(integer);
  }
  double real = 0;
  if (const auto [stop, error] = std::from_chars(begin, end, real);
      error == std::errc() && stop == end && std::isfinite(real)) {
    return static_cast<long double>(real);
  }
  return std::nullopt;
}

std::string Show(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

bool QueryValueMatches(const json& observed, const json& expected) {
  if (observed.is_string() && expected.is_string()) return observed == expected;
  if (observed.is_null() || expected.is_null()) return observed.is_null() && expected.is_null();
  const std::optional<long double> observed_number = AsNumber(observed);
  const std::optional<long double> expected_number =
      expected.is_string() ? DecimalNumber(expected.get_ref<const std::string&>())
                           : AsNumber(expected);
  return observed_number.has_value() && expected_number.has_value() &&
         *observed_number == *expected_number;
}

std::string DescribeMismatch(const json& observed, const json& expected) {
  return fmt::format("returned {}, expected {}", Show(observed), Show(expected));
}

std::string AbbreviateSql(std::string_view sql, std::size_t max_chars) {
  std::string out;
  char quote = '\0';  // the quote character of the literal or identifier we are in
  for (char ch : sql) {
    if (quote == '\0' && ch == ';') break;
    if (ch == '\'' || ch == '"') {
      // A doubled quote inside ('it''s') closes and reopens: the same state after both.
      if (quote == '\0') {
        quote = ch;
      } else if (quote == ch) {
        quote = '\0';
      }
    }
    const bool space = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '\f' ||
                       ch == '\v';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : ch;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() <= max_chars) return out;
  std::size_t cut = max_chars;
  // Back off over UTF-8 continuation bytes (10xxxxxx) to the start of a character.
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}

CheckResult RunQueryCheck(const json& spec, const FirstValueReader& first_value) {
  const std::string& sql = Text(spec.at("sql"));
  CheckResult result("query " + AbbreviateSql(sql, 60), spec.at("expect"));
  Result<json> value = first_value(sql);
  if (!value.ok()) {
    result.status = value.status();
    return result;
  }
  result.observed = *value;
  if (!QueryValueMatches(*value, result.expected)) {
    result.status = Status::ExpectationFailed(DescribeMismatch(*value, result.expected));
  }
  return result;
}

Outcome QueryActionOutcome(const Result<json>& value, const json& params) {
  if (!value.ok()) return Outcome{value.status()};
  Outcome outcome{Status::Ok(), {{"value", *value}}};
  const auto expect = params.find("expect");
  if (expect != params.end() && !QueryValueMatches(*value, *expect)) {
    outcome.status = Status::ExpectationFailed("query " + DescribeMismatch(*value, *expect));
  }
  return outcome;
}

}  // namespace backout::adapters::common
