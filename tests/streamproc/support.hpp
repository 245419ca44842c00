// Shared helpers for the lib/streamproc tests: a temp dir, scripts written into it, in-memory
// sources, and checks that no child process or descriptor is left behind.
#pragma once

#include <strata/contentio/stream.hpp>
#include <strata/plugin/error.hpp>
#include <strata/streamproc/chain.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>

namespace streamproc_test {

inline constexpr const char* kTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

// A directory under /tmp removed with everything in it at the end of the test.
class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/strata-streamproc-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

  // Writes `body` (after a #!/bin/sh line) to <dir>/<name> with `mode`; returns the path.
  std::string script(const std::string& name, const std::string& body, mode_t mode = 0755) const {
    const std::string p = path_ + "/" + name;
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << "#!/bin/sh\n" << body << "\n";
    }
    if (::chmod(p.c_str(), mode) != 0)
      ADD_FAILURE() << "chmod " << p << ": " << std::strerror(errno);
    return p;
  }

private:
  std::string path_;
};

inline strata::streamproc::ProcessorSpec spec(std::string id, std::vector<std::string> accepts,
                                              std::string returns, std::string path,
                                              std::vector<std::string> args = {},
                                              std::vector<std::string> env = {}) {
  return {std::move(id),   std::move(accepts), std::move(returns),
          std::move(path), std::move(args),    std::move(env)};
}

// A Source over `data`, handing out at most `chunk` bytes per read.
inline strata::contentio::Source memory_source(std::string data, std::size_t chunk = 65536) {
  auto d = std::make_shared<std::string>(std::move(data));
  auto off = std::make_shared<std::size_t>(0);
  return [d, off, chunk](std::span<std::byte> buf) -> strata::Result<std::size_t> {
    std::size_t n = std::min({buf.size(), chunk, d->size() - *off});
    std::memcpy(buf.data(), d->data() + *off, n);
    *off += n;
    return n;
  };
}

// Reads a source to its end; the bytes, or the first error.
inline strata::Result<std::string> drain(const strata::contentio::Source& src) {
  std::string out;
  std::vector<std::byte> buf(16384);
  for (;;) {
    auto n = src(buf);
    if (!n)
      return std::move(n).error();
    if (*n == 0)
      return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

// Deterministic, poorly compressible-enough test data.
inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>('a' + (x % 16));
  }
  return s;
}

// Children of this process as the kernel lists them (zombies included).
inline std::vector<std::string> children() {
  std::vector<std::string> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "children");
    std::string pid;
    while (in >> pid)
      out.push_back(pid);
  }
  return out;
}

inline void expect_no_children() {
  EXPECT_TRUE(children().empty()) << "child processes left: " << children().size();
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD) << "a child is still around to be reaped";
}

inline std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

} // namespace streamproc_test
