#include "records.hpp"

#include "plan.hpp"

#include <strata/digest/sha256.hpp>
#include <strata/fs/posix.hpp>

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <unistd.h>

namespace strata::images {

Result<RecordStore> RecordStore::open(const std::string& dir) {
  if (auto st = fs::make_dir(dir, 0700); !st)
    return std::move(st).error();
  return RecordStore(dir);
}

std::string RecordStore::file_of(const std::string& name) const {
  return digest::sha256_of(name).substr(std::string_view("sha256:").size()) + ".json";
}

Result<Image> RecordStore::read(const std::string& file) const {
  auto text = fs::read_small_file(dir_ + "/" + file);
  if (!text)
    return std::move(text).error();
  const std::string what = "image record " + dir_ + "/" + file;
  auto v = parse_json(*text, what);
  if (!v)
    return internal_error(v.error().message());
  auto image = from_json<Image>(*v, what);
  if (!image)
    return internal_error(image.error().message());
  return image;
}

Result<Image> RecordStore::get(const std::string& name) const {
  if (auto st = validate_name(name); !st)
    return std::move(st).error();
  auto image = read(file_of(name));
  if (!image && image.error().code() == Code::NotFound)
    return not_found("image \"" + name + "\" does not exist");
  return image;
}

Result<Image> RecordStore::put(Image image) {
  std::lock_guard lock(*mu_);
  const auto file = file_of(image.name);
  if (auto old = read(file); old)
    image.created = old->created;
  auto text = json::serialize(json::value_from(image));
  if (auto st = fs::write_file_atomic(dir_, file, text, 0600); !st)
    return std::move(st).error();
  return image;
}

Result<std::vector<Image>> RecordStore::list() const {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir_.c_str()), ::closedir);
  if (!d)
    return fs::sys_error("cannot list " + dir_, errno);
  std::vector<Image> out;
  while (auto* e = ::readdir(d.get())) {
    std::string file = e->d_name;
    // Temporary files of write_file_atomic start with '.'; only finished records count.
    if (file.starts_with(".") || !file.ends_with(".json"))
      continue;
    if (auto image = read(file); image)
      out.push_back(std::move(*image));
  }
  std::sort(out.begin(), out.end(), [](const Image& a, const Image& b) { return a.name < b.name; });
  return out;
}

Status RecordStore::remove(const std::string& name) {
  if (auto st = validate_name(name); !st)
    return st;
  std::lock_guard lock(*mu_);
  const auto path = dir_ + "/" + file_of(name);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT)
      return not_found("image \"" + name + "\" does not exist");
    return fs::sys_error("cannot remove " + path, errno);
  }
  return fs::fsync_dir(dir_);
}

} // namespace strata::images
