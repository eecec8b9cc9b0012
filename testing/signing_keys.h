// Ed25519 key files for tests of signed runs, made with OpenSSL as `openssl genpkey
// -algorithm ed25519` and `openssl pkey -pubout` would write them.
//
// Part of the unit-level testing library (testing/): depends on base/ (OpenSSL) only.
#pragma once

#include <filesystem>
#include <string>

namespace backout::testing {

struct KeyFiles {
  std::filesystem::path private_pem;  // PKCS#8 "BEGIN PRIVATE KEY", mode 0600
  std::filesystem::path public_pem;   // SubjectPublicKeyInfo "BEGIN PUBLIC KEY"
};

// A fresh key pair written as DIR/NAME.pem and DIR/NAME.pub. Throws std::runtime_error when
// OpenSSL or the file system fails: a test cannot set up without its keys.
KeyFiles WriteEd25519KeyPair(const std::filesystem::path& dir, const std::string& name);

}  // namespace backout::testing
