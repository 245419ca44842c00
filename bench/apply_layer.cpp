// apply-layer [--gzip-decoder isal|zlib] [--decompress-thread on|off] LAYER_FILE TARGET_DIR:
// unpacks a layer file with strata::archive::apply, for bench/apply_bench.py to time against
// `bsdtar -x`. No timing here: the driver times the whole process, as it does for bsdtar, so both
// pay process start and exit alike. The options are the walking differ's gzip_decoder and
// decompress_thread (defaults: isal, on). With --inflate-only LAYER_FILE it only decompresses
// (the bytes are dropped), to time the decoders against `gzip -dc`.

#include <strata/archive/apply.hpp>
#include <strata/archive/compression.hpp>
#include <strata/contentio/read_ahead.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "apply-layer: %s\n", msg.c_str());
  return 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: apply-layer [--gzip-decoder isal|zlib] [--decompress-thread on|off] "
               "LAYER_FILE TARGET_DIR\n"
               "       apply-layer --inflate-only [OPTIONS] LAYER_FILE\n"
               "Applies a layer (tar, tar.gz or tar.zst, detected from its first bytes)\n"
               "onto the existing directory TARGET_DIR (whiteouts removed, default options),\n"
               "decompressing as the walking differ does (defaults: isal, on).\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  strata::archive::DecompressOptions decompress;
  bool thread = true;
  bool inflate_only = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--gzip-decoder" || arg == "--decompress-thread") && i + 1 < argc) {
      const std::string_view value = argv[++i];
      if (arg == "--gzip-decoder" && (value == "isal" || value == "zlib"))
        decompress.gzip = value == "isal" ? strata::archive::GzipDecoder::Isal
                                          : strata::archive::GzipDecoder::Zlib;
      else if (arg == "--decompress-thread" && (value == "on" || value == "off"))
        thread = value == "on";
      else
        return usage();
    } else if (arg == "--inflate-only") {
      inflate_only = true;
    } else if (arg.starts_with("--")) {
      return usage();
    } else {
      args.emplace_back(arg);
    }
  }
  if (args.size() != (inflate_only ? 1u : 2u))
    return usage();
  const std::string& layer = args[0];
  const int fd = ::open(layer.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open " + layer + ": " + std::strerror(errno));

  // As plugins/walking does: a plain tar goes to apply() as it is, a compressed one through
  // decompressing() with its codec known up front (here from the magic bytes, there from the
  // media type).
  std::array<std::byte, 4> head{};
  const ssize_t got = ::pread(fd, head.data(), head.size(), 0);
  if (got < 0)
    return fail("cannot read " + layer + ": " + std::strerror(errno));
  const auto codec = strata::archive::detect_compression(
      std::span<const std::byte>(head.data(), static_cast<std::size_t>(got)));

  strata::contentio::Source source =
      [fd, &layer](std::span<std::byte> buf) -> strata::Result<std::size_t> {
    for (;;) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n >= 0)
        return static_cast<std::size_t>(n);
      if (errno != EINTR)
        return strata::internal_error("cannot read " + layer + ": " + std::strerror(errno));
    }
  };
  if (codec != strata::archive::Compression::None) {
    source = strata::archive::decompressing(std::move(source), codec, decompress);
    if (thread)
      source = strata::contentio::read_ahead(std::move(source));
  }

  if (inflate_only) {
    std::vector<std::byte> buf(256 * 1024); // what archive::apply reads at a time
    for (;;) {
      auto n = source(buf);
      if (!n)
        return fail(n.error().to_string());
      if (*n == 0)
        return 0;
    }
  }

  auto applied = strata::archive::apply(args[1], source);
  source = nullptr; // stops a read-ahead worker before the fd it reads is closed
  ::close(fd);
  if (!applied)
    return fail(applied.error().to_string());
  return 0;
}
