#include "journal/chain_key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cassert>
#include <cstdlib>

namespace backout::journal {
namespace {

// OpenSSL failing to allocate or to provide HMAC-SHA256 is not recoverable in any useful way
// (as for SHA-256 in base/sha256.cc).
template <typename T>
T* OrAbort(T* p) {
  if (p == nullptr) std::abort();
  return p;
}

// Fetched once: fetching is the expensive part of using an OpenSSL 3 algorithm.
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const hmac = OrAbort(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  return hmac;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

}  // namespace

std::string_view ChainModeName(ChainMode mode) {
  switch (mode) {
    case ChainMode::kSha256: return "sha256";
    case ChainMode::kHmacSha256: return "hmac-sha256";
  }
  return "unknown";
}

ChainKey::ChainKey(std::string_view secret) {
  if (secret.empty()) return;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(OrAbort(EVP_MAC_CTX_new(HmacAlgorithm())));
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                   secret.size(), params) != 1) {
    std::abort();
  }
  hmac_ = std::shared_ptr<const EVP_MAC_CTX>(ctx.release(), MacCtxFree());
}

Digest ChainKey::Mac(std::string_view bytes) const {
  assert(!empty());
  const std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(OrAbort(EVP_MAC_CTX_dup(hmac_.get())));
  Digest out{};
  std::size_t length = 0;
  if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != out.size()) {
    std::abort();
  }
  return out;
}

}  // namespace backout::journal
