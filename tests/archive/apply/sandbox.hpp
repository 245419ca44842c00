#pragma once
// A temporary directory with root/ (where layers are applied) and a sentinel tree outside/
// beside it. Every test ends by checking that outside/ is byte-for-byte and attribute-for-
// attribute what it was: no layer may write, chmod, chown, touch or delete anything there.
#include "tar_builder.hpp"

#include <strata/archive/apply.hpp>

#include <gtest/gtest.h>

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

// Everything observable about a tree, one line per entry.
inline std::string describe_tree(const stdfs::path& top) {
  std::map<std::string, std::string> lines;
  for (auto it = stdfs::recursive_directory_iterator(top); it != stdfs::end(it); ++it) {
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
    if (n > 0)
      l << " xattrs=" << std::string(names, static_cast<std::size_t>(n));
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
    before_ = describe_tree(outside_);
  }

  void TearDown() override {
    EXPECT_EQ(describe_tree(outside_), before_) << "something outside the root changed";
    stdfs::remove_all(top_);
  }

  Result<archive::ApplyResult> apply(const std::string& tar, archive::ApplyOptions opts = {}) {
    opts.warn = [this](std::string_view w) { warnings_.emplace_back(w); };
    return archive::apply(root_.string(), string_source(tar), opts);
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
