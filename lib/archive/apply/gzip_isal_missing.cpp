// Built instead of gzip_isal.cpp when meson did not find ISA-L (pkg-config libisal): the Isal
// choice then falls back to zlib (decompress.cpp).

#include "decoder.hpp"

namespace strata::archive::detail {

bool isal_built_in() noexcept {
  return false;
}

std::unique_ptr<Decoder> make_isal_gzip_decoder() {
  return nullptr;
}

} // namespace strata::archive::detail
