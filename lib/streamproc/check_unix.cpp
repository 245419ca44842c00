// Whether a configured processor binary may run: absolute path, regular file, executable, and
// not writable by anyone but its owner.
#include <strata/streamproc/processor.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::streamproc {

namespace {

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

} // namespace

Status check(const ProcessorSpec& spec) {
  const std::string key = "stream_processors." + spec.id + ".path";
  const std::string& path = spec.path;
  if (path.find('\0') != std::string::npos)
    return unavailable(key + " contains a NUL byte; write the absolute path of the binary");
  if (path.empty() || path.front() != '/') {
    std::string base =
        path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    if (base.empty())
      base = "processor";
    return unavailable(key + " is \"" + path +
                       "\", a relative path; stream processors are run only by absolute path, "
                       "never looked up in PATH or the current directory: write e.g. "
                       "\"/usr/local/bin/" +
                       base + "\"");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    return unavailable(key + ": " + path + " " +
                       (err == ENOENT
                            ? std::string("does not exist")
                            : std::string("cannot be examined: ") + strerrordesc_np(err)) +
                       "; install the processor there or fix the path");
  }
  if (!S_ISREG(st.st_mode))
    return unavailable(key + ": " + path + " is " + file_kind(st.st_mode) +
                       "; point it at the processor's executable file");
  if (::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) != 0 || (st.st_mode & 0111) == 0)
    return unavailable(key + ": " + path + " is not executable (mode " + octal(st.st_mode) +
                       "); make it executable (chmod 0755) or fix the path");
  if ((st.st_mode & 0022) != 0)
    return unavailable(key + ": " + path + " is writable by group or others (mode " +
                       octal(st.st_mode) +
                       "); a processor sees every layer it converts, so only its owner may "
                       "change it: chmod go-w " +
                       path);
  return {};
}

Status find_accepting(const std::vector<ProcessorSpec>& processors, std::string_view media_type) {
  std::string reasons;
  for (const auto& p : processors) {
    if (std::find(p.accepts.begin(), p.accepts.end(), media_type) == p.accepts.end())
      continue;
    auto usable = check(p);
    if (usable)
      return {};
    reasons += "; " + usable.error().message();
  }
  return not_implemented("no stream processor accepts it" + reasons);
}

} // namespace strata::streamproc
