#include "reader.hpp"

#include "core.hpp"

#include <strata/plugin/guard.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace strata::content {

Result<std::shared_ptr<FileReader>> FileReader::open(const std::string& path, std::string digest) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return not_found("content: blob " + digest + " not found");
    return fs::sys_error("cannot open blob " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return fs::sys_error("cannot stat blob " + path, errno);
  return std::make_shared<FileReader>(std::move(fd), static_cast<std::int64_t>(st.st_size),
                                      std::move(digest));
}

Result<std::size_t> FileReader::read_at(std::span<std::byte> buf, std::int64_t offset) {
  return guard("content: read_at", [&]() -> Result<std::size_t> {
    if (offset < 0 || offset > size_)
      return Error(Code::OutOfRange, "content: offset " + std::to_string(offset) +
                                         " is outside blob " + digest_ + " of size " +
                                         std::to_string(size_));
    const auto want =
        std::min<std::uint64_t>(buf.size(), static_cast<std::uint64_t>(size_ - offset));
    std::size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd_.get(), buf.data() + got, want - got, offset + std::int64_t(got));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return fs::sys_error("cannot read blob " + digest_ + " at offset " +
                                 std::to_string(offset + std::int64_t(got)),
                             errno);
      }
      if (n == 0)
        return Error(Code::DataLoss, "content: blob " + digest_ + " ended at offset " +
                                         std::to_string(offset + std::int64_t(got)) +
                                         " before its size " + std::to_string(size_) +
                                         "; the file was truncated");
      got += static_cast<std::size_t>(n);
    }
    return got;
  });
}

} // namespace strata::content
