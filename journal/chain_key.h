// How a record's hash is computed, and the secret of a keyed chain.
//
// Every record says which function produced its `hash` (ChainMode, stored in the record). An
// unkeyed chain uses SHA-256, which proves nothing against someone who can rewrite the whole
// chain; a keyed chain uses HMAC-SHA256 with a secret held apart from the journal
// (BACKOUT_JOURNAL_KEY), so that only holders of the key can produce valid records.
// docs/journal-format.md#keyed-chain describes what that does and does not protect against.
//
// Thread safety: a ChainKey is immutable; Mac() may be called from several threads at once.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "base/sha256.h"

namespace backout::journal {

enum class ChainMode : std::uint8_t {
  kSha256 = 0,      // hash = SHA-256(bytes)
  kHmacSha256 = 1,  // hash = HMAC-SHA256(key, bytes)
};

// "sha256" or "hmac-sha256": the name used in exports and messages.
std::string_view ChainModeName(ChainMode mode);

// The key of keyed chains. The secret lives only inside an OpenSSL HMAC context (which
// cleanses it when freed): this class cannot print, compare or return it.
class ChainKey {
 public:
  // No key: new runs get SHA-256 chains, and keyed runs cannot be verified.
  ChainKey() = default;
  // An empty `secret` means no key.
  explicit ChainKey(std::string_view secret);

  bool empty() const { return hmac_ == nullptr; }

  // The mode of the records of a run created with this key.
  ChainMode ModeForNewRuns() const { return empty() ? ChainMode::kSha256 : ChainMode::kHmacSha256; }

  // HMAC-SHA256(secret, bytes). Requires !empty().
  Digest Mac(std::string_view bytes) const;

 private:
  // Initialized with the secret once; each Mac() works on a copy, so this one stays pristine.
  std::shared_ptr<const EVP_MAC_CTX> hmac_;
};

}  // namespace backout::journal
