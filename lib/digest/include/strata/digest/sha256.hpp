#pragma once
/// \file
/// SHA-256 digests in OCI form ("sha256:<64 lowercase hex>"), computed incrementally so that
/// streams can be verified while they are read.

#include "strata/plugin/error.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace strata::digest {

/// Incremental SHA-256 (OpenSSL's EVP implementation).
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  /// Adds bytes.
  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  /// The digest of everything added, "sha256:<hex>". The object must not be updated afterwards.
  std::string finish();

private:
  struct State;
  std::unique_ptr<State> state_;
};

/// "sha256:<hex>" of `data`.
std::string sha256_of(std::string_view data);

/// Checks that `digest` is "sha256:" followed by 64 lowercase hex digits.
/// Errors: InvalidArgument naming the digest and the expected form.
Status validate(std::string_view digest);

} // namespace strata::digest
