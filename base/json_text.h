// Parsing JSON text fast, with nlohmann's verdicts.
//
// Every read of a run parses one JSON payload per event (history::DecodeEvent, `events`,
// imports), and nlohmann's lexer reads about 150 MB/s: on a long run it was the largest
// single cost of a fold. simdjson parses the same text in a fraction of the time, so
// ParseJsonText reads with simdjson first and builds the nlohmann::json the callers use from
// its tree. The two parsers do not accept exactly the same documents (nlohmann also takes a
// UTF-8 byte order mark, integers beyond 64 bits as floats, nesting deeper than 1024, and
// stops at a NUL byte), so anything simdjson refuses is handed to nlohmann, whose verdict is
// final. The documents accepted, and the values they parse to, are therefore nlohmann's;
// json_text_test.cc checks this on edge cases and on random mutations of journal payloads.
// The one difference left is invisible to `==` and dump(): an integer written "-0" parses as
// an unsigned 0, where nlohmann keeps it signed.
//
// Thread safety: callable from any thread. Each thread keeps one simdjson parser, whose
// buffers grow to the largest document that thread has parsed (at most 1 MiB: larger ones
// are nlohmann's alone) and are reused after that.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace backout {

// nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false), faster: the value, or a
// discarded value (is_discarded()) when `text` is not one JSON document.
nlohmann::json ParseJsonText(std::string_view text);

}  // namespace backout
