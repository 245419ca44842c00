#pragma once
/// \file
/// Byte streams as functions: the one shape every lib/ module uses to pull bytes from a blob,
/// a pipe or a decompressor (Source) and to push them on (Sink).

#include <strata/plugin/error.hpp>

#include <cstddef>
#include <functional>
#include <span>

namespace strata::contentio {

/// Pulls bytes like read(2): fills a prefix of `buf` and returns the count; 0 only at the end.
/// A count larger than `buf.size()` is a bug in the source and consumers treat it as DataLoss.
using Source = std::function<Result<std::size_t>(std::span<std::byte> buf)>;

/// Takes all of `data` or fails; the span is only valid during the call.
using Sink = std::function<Status(std::span<const std::byte> data)>;

} // namespace strata::contentio
