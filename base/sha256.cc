#include "base/sha256.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

namespace backout {
namespace {

// Allocation failure of a digest context is not recoverable in any useful way.
template <typename T>
T* OrAbort(T* p) {
  if (p == nullptr) std::abort();
  return p;
}

// Fetched once. With OpenSSL 3, EVP_sha256() makes every context fetch the implementation
// again, which costs about as much as hashing a small journal record.
const EVP_MD* Sha256Algorithm() {
  static EVP_MD* const md = OrAbort(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md;
}

// One context per thread for Sha256(), reset by each EVP_DigestInit_ex, so that hashing a
// record allocates nothing.
EVP_MD_CTX* ThreadDigestContext() {
  struct Owner {
    EVP_MD_CTX* ctx = OrAbort(EVP_MD_CTX_new());
    ~Owner() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Owner owner;
  return owner.ctx;
}

}  // namespace

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = OrAbort(EVP_MD_CTX_new());
  if (EVP_DigestInit_ex(impl_->ctx, Sha256Algorithm(), nullptr) != 1) std::abort();
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256Stream::Update(std::string_view bytes) {
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
}

Digest Sha256Stream::Finish() {
  Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  return out;
}

Digest Sha256(std::string_view bytes) {
  EVP_MD_CTX* ctx = ThreadDigestContext();
  Digest out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, Sha256Algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1) {
    std::abort();
  }
  return out;
}

std::string ToHex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (std::uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) { return ToHex(Sha256(bytes)); }

Result<FileDigest> Sha256File(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IOError(fmt::format("{}: cannot open for reading: {}", path.string(),
                                       std::strerror(errno)));
  }
  Sha256Stream s;
  std::vector<char> buf(1 << 20);
  FileDigest out;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    s.Update(std::string_view(buf.data(), got));
    out.bytes += got;
  }
  if (in.bad()) return Status::IOError(fmt::format("{}: read failed", path.string()));
  out.sha256_hex = ToHex(s.Finish());
  return out;
}

}  // namespace backout
