// User namespaces through pidfds, idmapped bind and overlay mounts.
#include "scratch.hpp"

#include <strata/mount/idmap.hpp>
#include <strata/mount/mount.hpp>
#include <strata/mount/overlay.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <sched.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

using strata::Code;
using strata::Mount;
using namespace strata::mount;
using namespace strata::mount::testing;

// The uid_map and gid_map as seen from inside the namespace `userns_fd`: a forked child joins it
// and reads its own maps. Only raw system calls in the child (the test is multi-threaded).
std::string maps_inside(int userns_fd) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    if (::syscall(SYS_setns, userns_fd, CLONE_NEWUSER) != 0)
      ::_exit(2);
    for (const char* f : {"/proc/self/uid_map", "/proc/self/gid_map"}) {
      int fd = ::open(f, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        ::_exit(3);
      char buf[512];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0)
        if (::write(pipefd[1], buf, static_cast<size_t>(n)) != n)
          ::_exit(4);
      ::close(fd);
      if (::write(pipefd[1], "|", 1) != 1)
        ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "checker child failed with status " + std::to_string(status);
  return out;
}

// "0 1000 1\n" lines -> "0:1000:1,..." for comparison with the request.
std::string normalize(const std::string& proc_map) {
  std::istringstream in(proc_map);
  std::string out;
  unsigned long long a, b, c;
  while (in >> a >> b >> c)
    out += (out.empty() ? "" : ",") + std::to_string(a) + ":" + std::to_string(b) + ":" +
           std::to_string(c);
  return out;
}

std::pair<std::string, std::string> read_maps(int userns_fd) {
  std::string all = maps_inside(userns_fd);
  auto bar = all.find('|');
  if (bar == std::string::npos)
    return {all, all};
  return {normalize(all.substr(0, bar)), normalize(all.substr(bar + 1))};
}

TEST(UserNamespace, HasTheRequestedMaps) {
  STRATA_REQUIRE_ROOT();
  auto ns = user_namespace_fd("0:100000:65536", "0:200000:1000,1000:300000:5");
  ASSERT_TRUE(ns) << ns.error().to_string();
  auto [uids, gids] = read_maps(ns->get());
  EXPECT_EQ(uids, "0:100000:65536");
  EXPECT_EQ(gids, "0:200000:1000,1000:300000:5");

  auto bad = user_namespace_fd("0:1000", "0:1000:1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
  EXPECT_NE(bad.error().message().find("uid map"), std::string::npos);
}

// The seed ran its PID-reuse fix 1000 times in parallel; so do we, and check that every fd is
// the namespace that was asked for (a mix-up between concurrent calls or a recycled PID would
// show another call's maps, or the host's) and that no fd leaks.
TEST(UserNamespace, ThousandInParallel) {
  STRATA_REQUIRE_ROOT();
  // Warm up once-only state (pidfd probe) so it does not count as a leak.
  ASSERT_TRUE(user_namespace_fd("0:1:1", "0:1:1"));
  int before = count_fds();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 125;
  std::atomic<int> failures{0};
  std::vector<std::string> first_errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        std::string uid = "0:" + std::to_string(100000 + n) + ":1";
        std::string gid = "0:" + std::to_string(500000 + n) + ":" + std::to_string(1 + n % 7);
        auto ns = user_namespace_fd(uid, gid);
        std::string err;
        if (!ns) {
          err = ns.error().to_string();
        } else {
          auto [u, g] = read_maps(ns->get());
          if (u != uid || g != gid)
            err = "asked " + uid + " / " + gid + ", got " + u + " / " + g;
        }
        if (!err.empty()) {
          ++failures;
          if (first_errors[t].empty())
            first_errors[t] = err;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& e : first_errors)
    EXPECT_EQ(e, "");
  EXPECT_EQ(count_fds(), before) << "file descriptors leaked";
}

TEST(Idmapped, BindShowsMappedOwner) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string f = s.file("src/owned-by-root", "x");
  ASSERT_EQ(::chown(f.c_str(), 0, 0), 0);
  if (!idmapped_mounts_supported(s.path()))
    GTEST_SKIP() << "idmapped mounts unsupported on " << s.path();
  std::string dst = s.dir("dst");
  Mount m{"bind", s.path() + "/src", "", {"uidmap=0:1000:10", "gidmap=0:2000:10", "rbind"}};
  auto st = mount_one(m, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  struct stat sb {};
  ASSERT_EQ(::stat((dst + "/owned-by-root").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 1000u);
  EXPECT_EQ(sb.st_gid, 2000u);
  ASSERT_EQ(::stat(f.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 0u) << "the source is unchanged";
  ASSERT_TRUE(unmount(dst));

  // Read-only and idmapped at once (the reference dropped the idmap on ro binds).
  m.options.push_back("ro");
  st = mount_one(m, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  ASSERT_EQ(::stat((dst + "/owned-by-root").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 1000u);
  int fd = ::open((dst + "/new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, EROFS);
  ASSERT_TRUE(unmount(dst));
}

TEST(Idmapped, PlainFilesystemIsReplacedByIdmappedClone) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  auto st =
      mount_one({"tmpfs", "tmpfs", "", {"size=1m", "uidmap=0:3000:1", "gidmap=0:4000:1"}}, dst);
  if (!st && st.error().code() == Code::NotImplemented)
    GTEST_SKIP() << st.error().to_string();
  ASSERT_TRUE(st) << st.error().to_string();
  struct stat sb {};
  ASSERT_EQ(::stat(dst.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 3000u);
  EXPECT_EQ(sb.st_gid, 4000u);
  ASSERT_TRUE(unmount_all(dst));
  EXPECT_FALSE(is_mount_point(dst));
}

TEST(Idmapped, OverlayLowerdirsAreMapped) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  if (!idmapped_overlay_supported(s.path()))
    GTEST_SKIP() << "overlay on idmapped layers unsupported on " << s.path();
  std::string a = s.file("snapshots/1/fs/a", "a");
  std::string b = s.file("snapshots/2/fs/b", "b");
  ASSERT_EQ(::chown(a.c_str(), 0, 0), 0);
  ASSERT_EQ(::chown(b.c_str(), 5, 5), 0);
  s.dir("snapshots/3/fs");
  s.dir("snapshots/3/work");
  std::string merged = s.dir("merged");
  for (OverlayMethod method : {OverlayMethod::Fsconfig, OverlayMethod::MountData}) {
    if (method == OverlayMethod::Fsconfig && !overlay_lowerdir_append_supported())
      continue;
    Mount m{"overlay",
            "overlay",
            "",
            {"uidmap=0:1000:100", "gidmap=0:2000:100", "workdir=" + s.path() + "/snapshots/3/work",
             "upperdir=" + s.path() + "/snapshots/3/fs",
             "lowerdir=" + s.path() + "/snapshots/2/fs:" + s.path() + "/snapshots/1/fs",
             "index=off"}};
    auto st = mount_overlay(m, merged, method);
    ASSERT_TRUE(st) << st.error().to_string();
    struct stat sb {};
    ASSERT_EQ(::stat((merged + "/a").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_uid, 1000u);
    EXPECT_EQ(sb.st_gid, 2000u);
    ASSERT_EQ(::stat((merged + "/b").c_str(), &sb), 0);
    EXPECT_EQ(sb.st_uid, 1005u);
    EXPECT_EQ(read_file(merged + "/b"), "b");
    ASSERT_TRUE(unmount(merged));
  }
  // The temporary idmapped bind is gone.
  EXPECT_EQ(read_file("/proc/self/mountinfo").find("strata-idmap-"), std::string::npos);

  Mount no_parent{
      "overlay", "overlay", "", {"uidmap=0:1000:1", "gidmap=0:1000:1", "lowerdir=/usr:/etc"}};
  auto st = mount_one(no_parent, merged);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("common parent"), std::string::npos);
}

TEST(Idmapped, Probes) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  EXPECT_TRUE(idmapped_mounts_supported(s.path()));
  EXPECT_TRUE(idmapped_overlay_supported(s.path()));
  EXPECT_TRUE(std::filesystem::is_empty(s.path())) << "probes leave nothing behind";
}

} // namespace
