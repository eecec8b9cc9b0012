// SHA-256 over memory and files (OpenSSL EVP), with hex output.
//
// Thread safety: every function is safe to call concurrently; Sha256Stream objects are not
// shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backout {

using Digest = std::array<std::uint8_t, 32>;

Digest Sha256(std::string_view bytes);
std::string ToHex(const Digest& digest);
std::string Sha256Hex(std::string_view bytes);

// SHA-256 and size of a file, read in large chunks.
struct FileDigest {
  std::uint64_t bytes = 0;
  std::string sha256_hex;
};
Result<FileDigest> Sha256File(const std::filesystem::path& path);

// Incremental hashing for data that arrives in pieces.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(std::string_view bytes);
  Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backout
