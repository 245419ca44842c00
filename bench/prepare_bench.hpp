#pragma once
// What prepare-bench-native and prepare-bench-blockfile share: argument parsing, errors, and
// timing rounds of prepare + remove with a syncfs before each (see prepare_bench_native.cpp).

#include <strata/fs/posix.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace strata::bench {

using Clock = std::chrono::steady_clock;

[[noreturn]] inline void die(const std::string& msg) {
  std::fprintf(stderr, "prepare-bench: %s\n", msg.c_str());
  std::exit(1);
}

template <class R> void check(const R& r, const std::string& what) {
  if (!r.ok())
    die(what + ": " + r.error().to_string());
}

// Flushes what the last round wrote, so that one round's writeback is not timed in the next.
inline void sync_fs(const std::string& path) {
  strata::fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0)
    die("syncfs " + path + ": " + std::strerror(errno));
}

inline std::string times_json(const std::vector<double>& ms) {
  std::string out = "[";
  for (std::size_t i = 0; i < ms.size(); ++i)
    out += (i ? "," : "") + std::to_string(ms[i]);
  return out + "]";
}

// Times `runs` rounds of prepare(key, parent) then remove(key) on `s`.
template <class S>
std::vector<double> time_prepares(S& s, const std::string& root, const std::string& parent,
                                  int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    sync_fs(root);
    auto t0 = Clock::now();
    auto m = s.prepare("bench", parent, {});
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    check(m, "prepare");
    check(s.remove("bench"), "remove");
  }
  return ms;
}

/// The options of both tools (each uses the ones its header comment lists).
struct Args {
  std::string root, tree, fs_type = "ext4";
  std::string size = "1GiB";
  int runs = 5;
};

inline Args parse(int argc, char** argv) {
  Args a;
  if (argc % 2 == 0)
    die("usage: --root DIR [--tree SRC] [--size S] [--fs-type ext4|xfs] [--runs N]");
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--root")
      a.root = v;
    else if (k == "--tree")
      a.tree = v;
    else if (k == "--size")
      a.size = v;
    else if (k == "--fs-type")
      a.fs_type = v;
    else if (k == "--runs")
      a.runs = std::atoi(v.c_str());
    else
      die("unknown option " + k);
  }
  if (a.root.empty())
    die("--root is required");
  return a;
}

} // namespace strata::bench
