#pragma once
/// \file
/// read_all: a whole (small) blob in memory, read with BlobStream's checks.

#include <strata/plugin/content.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace strata::contentio {

/// The whole blob behind `reader`. `name` (normally the digest) appears in error messages.
/// Errors: ResourceExhausted when the declared size exceeds `limit` (nothing is read); every
/// error of BlobStream::next().
Result<std::string> read_all(ReaderAt& reader, std::size_t limit, std::string_view name = {});

} // namespace strata::contentio
