#pragma once
/// \file
/// ingest: copies a byte source into any ContentStore under a ref and commits it.

#include <strata/contentio/stream.hpp>
#include <strata/plugin/content.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <string>

namespace strata::contentio {

/// Writes everything `source` yields into `store` under `ref` and commits it against
/// `expected` (its digest and size are verified when set). A blob that exists already counts as
/// success: when `expected.digest` is set and the store has that blob with the expected size,
/// the source is not read at all; a commit that finds the blob (a concurrent ingest won the race)
/// returns AlreadyExists, which is success here too.
/// Errors: the store's (Unavailable when `ref` is locked, FailedPrecondition on a mismatch, ...);
/// the source's, with the ref prefixed; DataLoss when the source returns a count larger than its
/// buffer. A failed ingest is abandoned, which removes it.
Status ingest(ContentStore& store, const std::string& ref, const Descriptor& expected,
              const Source& source, const Labels& labels = {});

} // namespace strata::contentio
