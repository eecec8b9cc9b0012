#include "base/json_text.h"

#include <simdjson.h>

#include <cstdint>
#include <string>

namespace backout {
namespace {

// Larger documents (a RunStarted carrying a long plan, say) go to nlohmann: simdjson's parser
// keeps buffers of several times the largest document it has read, for the thread's life.
constexpr std::size_t kLargestSimdjsonDocument = std::size_t{1} << 20;

// The value of `element` as a T, the type element.type() names (a T{} for any other type,
// which the callers' switch on the type rules out).
template <typename T>
T ValueOf(simdjson::dom::element element) {
  T value{};
  if (element.get(value) != simdjson::SUCCESS) return T{};
  return value;
}

// `element` as nlohmann::json.
nlohmann::json ToNlohmann(simdjson::dom::element element) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      nlohmann::json object = nlohmann::json::object();
      // operator[]: a repeated key keeps its last value, as nlohmann's parser does.
      for (const auto [key, value] : ValueOf<simdjson::dom::object>(element)) {
        object[std::string(key)] = ToNlohmann(value);
      }
      return object;
    }
    case Type::ARRAY: {
      nlohmann::json array = nlohmann::json::array();
      for (const simdjson::dom::element value : ValueOf<simdjson::dom::array>(element)) {
        array.push_back(ToNlohmann(value));
      }
      return array;
    }
    case Type::STRING:
      return std::string(ValueOf<std::string_view>(element));
    case Type::INT64: {
      // nlohmann keeps an integer without a sign unsigned; simdjson calls every integer that
      // fits int64_t signed.
      const auto value = ValueOf<std::int64_t>(element);
      if (value >= 0) return static_cast<std::uint64_t>(value);
      return value;
    }
    case Type::UINT64:
      return ValueOf<std::uint64_t>(element);
    case Type::DOUBLE:
      return ValueOf<double>(element);
    case Type::BOOL:
      return ValueOf<bool>(element);
    case Type::NULL_VALUE:
      return nullptr;
  }
  return nlohmann::json(nlohmann::json::value_t::discarded);
}

}  // namespace

nlohmann::json ParseJsonText(std::string_view text) {
  thread_local simdjson::dom::parser parser(kLargestSimdjsonDocument);
  simdjson::dom::element root;
  // realloc_if_needed: the text is copied into the parser's own padded buffer, reused from
  // one document to the next, since simdjson reads a little past the end of its input.
  if (parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root) ==
      simdjson::SUCCESS) {
    return ToNlohmann(root);
  }
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace backout
