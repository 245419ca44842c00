#include "support.hpp"

#include <strata/mount/loop.hpp>

#include <algorithm>
#include <chrono>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace strata::blockfile::test {

std::set<std::string> loops_below(const std::string& dir) {
  std::set<std::string> out;
  auto loops = mount::attached_loops();
  if (!loops) {
    ADD_FAILURE() << loops.error().to_string();
    return out;
  }
  for (const mount::LoopInfo& l : *loops)
    if (l.backing_file.starts_with(dir + "/"))
      out.insert(l.device + " -> " + l.backing_file);
  return out;
}

void BlockfileTest::SetUp() {
  if (::geteuid() != 0)
    GTEST_SKIP() << "blockfile tests need root (loop devices and mounts)";
  scratch_ = std::make_unique<strata::testing::Scratch>("strata-blockfile-test-");
  // Other tests may hold loop devices meanwhile: only those backed by our files count.
  loops_before_ = loops_below(dir()).size();
}

void BlockfileTest::TearDown() {
  if (!scratch_)
    return;
  // Leaks are counted before the Scratch's clean-up would hide them; autoclear detaches a device
  // when its last mount goes, which the kernel may finish just after umount returns.
  std::set<std::string> left = loops_below(dir());
  for (int i = 0; i < 40 && left.size() > loops_before_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = loops_below(dir());
  }
  std::string shown;
  for (const std::string& l : left)
    shown += "\n  " + l;
  EXPECT_EQ(left.size(), loops_before_) << "loop devices left attached:" << shown;
  scratch_.reset();
}

std::string BlockfileTest::subdir(const std::string& name) const {
  return scratch_->dir(name);
}

InitResult BlockfileTest::init(const std::string& root, const json::object& config,
                               const ScratchSetup& setup, Meta* meta) {
  strata::testing::FakeInitContext ic("strata.snapshotter.v1.blockfile", root, root + ".state",
                                      config);
  InitResult r = blockfile::init(ic, setup);
  if (meta)
    *meta = ic.meta();
  return r;
}

std::shared_ptr<BlockfileSnapshotter> BlockfileTest::open(const std::string& root,
                                                          const json::object& config) {
  InitResult r = init(root, config);
  if (r.skipped()) {
    ADD_FAILURE() << "skipped: " << r.skip_reason();
    return nullptr;
  }
  if (!r.ok()) {
    ADD_FAILURE() << r.error().to_string();
    return nullptr;
  }
  return std::dynamic_pointer_cast<BlockfileSnapshotter>(r.instance());
}

json::object ext4_config() {
  return json::object{{"fs_type", "ext4"}, {"size", "16MiB"}};
}

Result<mount::TempMount> mounted(const std::vector<Mount>& mounts, const std::string& parent) {
  return mount::TempMount::create(mounts, parent);
}

Status commit_with_file(BlockfileSnapshotter& s, const std::string& name, const std::string& parent,
                        const std::string& file, const std::string& content,
                        const std::string& mount_dir) {
  const std::string key = name + "-active";
  auto m = s.prepare(key, parent, {});
  if (!m)
    return std::move(m).error();
  auto tm = mount::TempMount::create(*m, mount_dir);
  if (!tm)
    return std::move(tm).error();
  if (!write_file(tm->path() + "/" + file, content))
    return internal_error("cannot write " + file + " in " + key);
  if (Status st = tm->release(); !st)
    return st;
  return s.commit(name, key, {});
}

bool write_random(const std::string& path, std::size_t bytes) {
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  std::string data(bytes, '\0');
  rnd.read(data.data(), static_cast<std::streamsize>(bytes));
  if (!write_file(path, data))
    return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0)
    ::close(fd);
  return ok;
}

bool write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out.flush());
}

std::vector<std::string> list(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

std::string image_of(BlockfileSnapshotter& s, const std::string& key) {
  auto m = s.mounts(key);
  if (!m || m->empty())
    return {};
  return m->front().source;
}

} // namespace strata::blockfile::test
