// Fuzz target: the journal record decoder (journal/record_codec.h), which reads whatever
// bytes RocksDB hands back. The input is one stored value; it is decoded under the seq its
// own header claims (bytes 2..9, so structurally sound values get past the seq check), once
// without a key and once with a fixed chain key.
//
// Properties beyond "no crash": the encoding is canonical, so a value that decodes must
// re-encode to exactly the input bytes; and the 8-byte key of that seq must decode back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "journal/chain_key.h"
#include "journal/record_codec.h"

namespace {

std::uint64_t ClaimedSeq(std::string_view value) {
  std::uint64_t seq = 0;
  for (std::size_t i = 2; i < 10 && i < value.size(); ++i) {
    seq = (seq << 8) | static_cast<std::uint8_t>(value[i]);
  }
  return seq;
}

void DecodeAndCheck(std::string_view value, std::uint64_t seq,
                    const backout::journal::ChainKey& key) {
  backout::Result<backout::journal::Record> record =
      backout::journal::DecodeRecord(value, seq, key);
  if (!record.ok()) return;
  if (backout::journal::EncodeRecord(*record) != value) std::abort();  // not canonical
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const backout::journal::ChainKey kKey("fuzz-chain-key");
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const std::uint64_t seq = ClaimedSeq(value);
  DecodeAndCheck(value, seq, backout::journal::ChainKey());
  DecodeAndCheck(value, seq, kKey);
  backout::Result<std::uint64_t> key_seq =
      backout::journal::DecodeKey(backout::journal::EncodeKey(seq));
  if (!key_seq.ok() || *key_seq != seq) std::abort();
  // The key decoder on raw input too (a RocksDB key of any length).
  (void)backout::journal::DecodeKey(value.substr(0, 16));
  return 0;
}
