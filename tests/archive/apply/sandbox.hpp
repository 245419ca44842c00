#pragma once
// A temporary directory with root/ (where layers are applied) and a sentinel tree outside/
// beside it. Every test ends by checking that outside/ is byte-for-byte and attribute-for-
// attribute what it was: no layer may write, chmod, chown, touch or delete anything there.
#include "tar_builder.hpp"

#include <strata/archive/apply.hpp>
#include <strata/fs/root.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace strata::testing {

namespace stdfs = std::filesystem;

inline std::string read_file(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const stdfs::path& p, const std::string& data) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

// Everything observable about a tree, one line per entry (the top itself excluded): type and
// mode, owner, size, mtime, link count, symlink target, content, xattr names and values.
// `skip` (a direct child of `top`) is left out with everything below it.
inline std::string describe_tree(const stdfs::path& top, const stdfs::path& skip = {}) {
  std::map<std::string, std::string> lines;
  for (auto it = stdfs::recursive_directory_iterator(top); it != stdfs::end(it); ++it) {
    if (!skip.empty() && it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::ostringstream l;
    l << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " "
      << st.st_size << " " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " " << st.st_nlink;
    if (S_ISLNK(st.st_mode))
      l << " -> " << stdfs::read_symlink(it->path()).string();
    else if (S_ISREG(st.st_mode))
      l << " [" << read_file(it->path()) << "]";
    char names[4096];
    ssize_t n = ::llistxattr(it->path().c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
      char value[4096];
      ssize_t v = ::lgetxattr(it->path().c_str(), names + i, value, sizeof value);
      l << " " << (names + i) << "=" << std::string(value, v > 0 ? std::size_t(v) : 0);
    }
    lines[it->path().lexically_relative(top).string()] = l.str();
  }
  std::string out;
  for (const auto& [k, v] : lines)
    out += k + " " + v + "\n";
  return out;
}

class ApplySandbox : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-apply-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    root_ = top_ / "root";
    outside_ = top_ / "outside";
    stdfs::create_directories(root_);
    write_file(outside_ / "file", "sentinel");
    write_file(outside_ / "dir/inner", "inner sentinel");
    stdfs::create_directory_symlink("dir", outside_ / "dirlink");
    ::chmod((outside_ / "file").c_str(), 0640);
    ::setxattr((outside_ / "file").c_str(), "user.sentinel", "s", 1, 0);
    struct timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
    ::utimensat(AT_FDCWD, (outside_ / "dir").c_str(), old_times, 0);
    ::utimensat(AT_FDCWD, (outside_ / "file").c_str(), old_times, 0);
    before_ = describe_tree(top_, root_);
  }

  void TearDown() override {
    // Everything beside the root: the sentinel tree and the parent directory's other entries.
    EXPECT_EQ(describe_tree(top_, root_), before_) << "something outside the root changed";
    auto removed = fs::remove_all_at(AT_FDCWD, top_.string(), top_.string());
    EXPECT_TRUE(removed) << removed.error().to_string();
  }

  Result<archive::ApplyResult> apply(const std::string& tar, archive::ApplyOptions opts = {}) {
    opts.warn = [this](std::string_view w) { warnings_.emplace_back(w); };
    return archive::apply(root_.string(), string_source(tar), opts);
  }

  // Applies and expects success; returns the result (check with ASSERT_TRUE(r.ok) first).
  struct Applied {
    bool ok = false;
    archive::ApplyResult result;
  };
  Applied expect_ok(const std::string& tar, archive::ApplyOptions opts = {}) {
    auto r = apply(tar, std::move(opts));
    EXPECT_TRUE(r) << r.error().to_string();
    if (!r)
      return {};
    return {true, *r};
  }

  // Applies and expects failure with `code`; returns the message.
  std::string expect_error(const std::string& tar, Code code, archive::ApplyOptions opts = {}) {
    auto r = apply(tar, std::move(opts));
    EXPECT_FALSE(r) << "expected " << strata::to_string(code) << ", got success";
    if (r)
      return {};
    EXPECT_EQ(r.error().code(), code) << r.error().to_string();
    return r.error().message();
  }

  stdfs::path top_, root_, outside_;
  std::string before_;
  std::vector<std::string> warnings_;
};

} // namespace strata::testing
