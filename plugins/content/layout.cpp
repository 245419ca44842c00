#include "layout.hpp"

#include <strata/fs/posix.hpp>

#include <strata/digest/sha256.hpp>

#include <filesystem>
#include <system_error>

namespace strata::content {

Layout::Layout(std::string r)
    : root(std::move(r)), blobs(root + "/blobs/sha256"), labels(root + "/labels"),
      ingest(root + "/ingest") {}

std::string Layout::blob_path(std::string_view hex) const {
  return blobs + "/" + std::string(hex);
}

std::string Layout::labels_name(std::string_view hex) {
  return std::string(hex) + ".json";
}

std::string Layout::ingest_dir(std::string_view ref) const {
  return ingest + "/" + std::string(hex_of(digest::sha256_of(ref)));
}

Status Layout::create() const {
  if (root.empty() || root.front() != '/')
    return invalid_argument("content: root must be an absolute path, got \"" + root + "\"");
  // The parents belong to the host's configuration root; only our own directories get 0700.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(root).parent_path(), ec);
  if (ec)
    return internal_error("content: cannot create the parent of " + root + ": " + ec.message());
  for (const std::string& dir : {root, root + "/blobs", blobs, labels, ingest})
    if (auto st = fs::make_dir(dir, dir_mode); !st)
      return st;
  return {};
}

} // namespace strata::content
