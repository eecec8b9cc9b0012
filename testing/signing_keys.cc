#include "testing/signing_keys.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <sys/stat.h>

#include <memory>
#include <stdexcept>

namespace backout::testing {
namespace {

// Writes `path` with `write` (a PEM_write_* call on an open FILE*), then sets `mode`.
template <typename Write>
void WritePem(const std::filesystem::path& path, mode_t mode, Write write) {
  std::unique_ptr<FILE, decltype(&fclose)> file(fopen(path.c_str(), "w"), fclose);
  if (file == nullptr || write(file.get()) != 1) {
    throw std::runtime_error("cannot write key file " + path.string());
  }
  file.reset();
  if (::chmod(path.c_str(), mode) != 0) throw std::runtime_error("chmod " + path.string());
}

}  // namespace

KeyFiles WriteEd25519KeyPair(const std::filesystem::path& dir, const std::string& name) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  if (key == nullptr) throw std::runtime_error("Ed25519 key generation failed");
  KeyFiles files{.private_pem = dir / (name + ".pem"), .public_pem = dir / (name + ".pub")};
  WritePem(files.private_pem, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  WritePem(files.public_pem, 0644, [&](FILE* f) { return PEM_write_PUBKEY(f, key.get()); });
  return files;
}

}  // namespace backout::testing
