#pragma once
// The walking differ's configuration, decoded once at init from its [plugins."..."] section.

#include <strata/archive/apply.hpp>
#include <strata/archive/compression.hpp>
#include <strata/plugin/json.hpp>
#include <strata/streamproc/processor.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace strata::walking {

/// TOML defaults of [plugins."strata.differ.v1.walking"]; the host checks keys and types
/// against them, so decode() only has to check values.
inline constexpr const char* default_config =
    R"(# Like tar --no-same-owner: applied files belong to stratad's user, not the layer's uid/gid.
no_same_owner = false
# An xattr the target refuses (ENOTSUP, or trusted.* without privilege): "warn" skips it, "fail" fails the apply.
xattr_errors = "warn"
# Refuse layers whose entries add up to more than this many bytes; 0 means no limit.
max_layer_bytes = 0
# A stream processor idle this long is killed and the apply fails.
processor_timeout_seconds = 300
# gzip layers are inflated by "isal" (ISA-L's igzip, fast) or "zlib" (the plain decoder).
gzip_decoder = "isal"
# Decompress on a thread of its own, overlapping with the creation of the layer's files.
decompress_thread = true
# [stream_processors.<id>] accepts = [...], returns = "...", path = "/abs/bin", args = [], env = []
[stream_processors]
)";

// No sync_fs: whether an apply syncs is ApplyOptions::sync_fs alone (the unpack's --sync-fs, the
// diff service's sync_fs), one switch instead of one per differ.
struct Config {
  bool no_same_owner = false;
  archive::XattrPolicy xattr_errors = archive::XattrPolicy::SkipWithWarning;
  std::uint64_t max_layer_bytes = 0;
  std::chrono::milliseconds processor_timeout = std::chrono::seconds(300);
  /// As requested; archive::effective() says what this build really uses.
  archive::GzipDecoder gzip_decoder = archive::GzipDecoder::Isal;
  bool decompress_thread = true;
  std::vector<streamproc::ProcessorSpec> processors;
};

/// Decodes the effective section. Errors: InvalidArgument naming the key, the value and the fix.
Result<Config> decode(const json::object& section);

} // namespace strata::walking
