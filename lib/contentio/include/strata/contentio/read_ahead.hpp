#pragma once
/// \file
/// read_ahead: runs a Source on a worker thread of its own, so that producing the bytes (e.g.
/// decompressing a layer) overlaps with consuming them (e.g. creating its files).

#include <strata/contentio/stream.hpp>

#include <cstddef>

namespace strata::contentio {

struct ReadAheadOptions {
  /// How many buffers the worker may fill before the consumer takes them (at least 1), and the
  /// size of each (at least 1). Memory use is at most buffers * buffer_size, allocated as needed.
  std::size_t buffers = 4;
  std::size_t buffer_size = 1 << 20;
};

/// A Source of exactly the bytes of `upstream`, which a worker thread pulls into a bounded queue
/// of buffers while the caller consumes them.
///
/// - The worker starts on the first read, so a Source that is never read never runs `upstream`.
///   If no thread can be started, `upstream` is read on the caller's thread instead.
/// - `upstream` is called from one thread at a time (the worker), never concurrently, and is
///   destroyed on the worker when it ends, fails or is stopped.
/// - Errors are those of `upstream`, unchanged and after the bytes that came before them;
///   DataLoss when `upstream` returns more bytes than it was asked for; Internal for an exception
///   thrown by `upstream` (caught on the worker; nothing propagates across threads). Once
///   reported, an error is returned by every later read, as is 0 after the end.
/// - Destroying the last copy of the returned Source stops the worker: it is woken if it waits
///   for a free buffer, finishes the call to `upstream` it may be in (so that call must return in
///   bounded time: a blocking upstream needs its own timeout), destroys `upstream` and is joined
///   before the destructor returns. Nothing of `upstream` outlives the returned Source.
/// - Like any Source, the returned one must not be called from two threads at once.
Source read_ahead(Source upstream, ReadAheadOptions options = {});

} // namespace strata::contentio
