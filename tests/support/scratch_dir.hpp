#pragma once
// A scratch directory for tests that make real files and mounts: whatever a test mounted below
// it is taken down and everything removed when it goes, even after a failure halfway.

#include <string>
#include <sys/types.h>

namespace strata::testing {

class Scratch {
public:
  /// A new directory named `prefix`XXXXXX under `parent` ("/var/tmp": a real disk filesystem
  /// here, unlike a tmpfs /tmp on some hosts). Aborts when it cannot be made.
  explicit Scratch(const std::string& prefix = "strata-test-",
                   const std::string& parent = "/var/tmp");
  /// Unmounts everything below path() (deepest first) and removes it.
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  /// The directory.
  const std::string& path() const { return path_; }
  /// path()/rel created as a directory (with parents) with `mode`; its path.
  std::string dir(const std::string& rel, mode_t mode = 0755) const;
  /// Writes `content` to path()/rel (parents created); its path.
  std::string file(const std::string& rel, const std::string& content) const;

private:
  std::string path_;
};

/// A whole file; "" when it cannot be read.
std::string read_file(const std::string& path);

} // namespace strata::testing
