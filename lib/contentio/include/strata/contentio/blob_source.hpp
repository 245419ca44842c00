#pragma once
/// \file
/// blob_source: a committed blob as a Source, with BlobStream's checks on every read.

#include <strata/contentio/stream.hpp>
#include <strata/plugin/content.hpp>

#include <memory>
#include <string>

namespace strata::contentio {

/// A Source over the whole blob behind `reader`, which it keeps alive. `name` (normally the
/// digest) appears in error messages; with `verify`, the last read fails with DataLoss when the
/// bytes do not hash to `name`. Errors: those of BlobStream::next().
Source blob_source(std::shared_ptr<ReaderAt> reader, std::string name, bool verify);

} // namespace strata::contentio
