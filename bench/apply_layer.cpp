// apply-layer LAYER_FILE TARGET_DIR: unpacks a layer file with strata::archive::apply, for
// bench/apply_bench.py to time against `bsdtar -x`. No timing here: the driver times the whole
// process, as it does for bsdtar, so both pay process start and exit alike.

#include <strata/archive/apply.hpp>
#include <strata/archive/compression.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <string>

namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "apply-layer: %s\n", msg.c_str());
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: apply-layer LAYER_FILE TARGET_DIR\n"
                         "Applies a layer (tar, tar.gz or tar.zst, detected from its first bytes)\n"
                         "onto the existing directory TARGET_DIR (whiteouts removed, default "
                         "options).\n");
    return 2;
  }
  const std::string layer = argv[1];
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
  if (codec != strata::archive::Compression::None)
    source = strata::archive::decompressing(std::move(source), codec);

  auto applied = strata::archive::apply(argv[2], source);
  ::close(fd);
  if (!applied)
    return fail(applied.error().to_string());
  return 0;
}
