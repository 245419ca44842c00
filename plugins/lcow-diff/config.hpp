#pragma once
// The lcow differ's configuration, decoded once at init from its [plugins."..."] section.

#include <strata/plugin/json.hpp>
#include <strata/plugin/try.hpp>
#include <strata/streamproc/processor.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace strata::lcow {

/// TOML defaults of [plugins."strata.differ.v1.windows-lcow"]; the host checks keys and types
/// against them, so decode() only has to check values.
inline constexpr const char* default_config =
    R"(# Refuse a layer holding a regular file larger than this (compactext4's limit: 128 GiB).
max_file_bytes = 137438953472
# Refuse a layer whose ext4 image would be larger than this (containerd's cap: 128 GiB).
max_image_bytes = 137438953472
# dm-verity hash tree after the filesystem: not implemented yet, so true is an init error.
append_dm_verity = false
# A stream processor idle this long is killed and the apply fails.
processor_timeout_seconds = 300
# [stream_processors.<id>] accepts = [...], returns = "...", path = "/abs/bin", args = [], env = []
[stream_processors]
)";

/// The decoded section.
struct Config {
  std::uint64_t max_file_bytes = 137438953472ULL;
  std::uint64_t max_image_bytes = 137438953472ULL;
  std::chrono::milliseconds processor_timeout = std::chrono::seconds(300);
  std::vector<streamproc::ProcessorSpec> processors;
};

/// Decodes the effective section. Errors: InvalidArgument naming the key, the value and the fix
/// (append_dm_verity = true among them: not implemented yet).
Result<Config> decode(const json::object& section);

} // namespace strata::lcow
