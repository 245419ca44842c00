// `strata content ingest|ls|get|rm|label`: blobs in stratad's content store, streamed both ways.

#include "client.hpp"
#include "commands.hpp"
#include "content_format.hpp"
#include "json_output.hpp"

#include <strata/digest/sha256.hpp>
#include <strata/fs/posix.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace strata::cli {
namespace {

// "?k=v&k2=v2" with both sides percent-encoded; "" when there are no parameters.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params)
    out += (out.empty() ? "?" : "&") + encode_segment(k) + "=" + encode_segment(v);
  return out;
}

std::string blob_path(std::string_view digest) {
  return "/v1/content/" + encode_segment(digest);
}

// "cannot <what> <path>: <strerror>", with the code lib/fs gives the errno.
Error file_error(std::string_view what, const std::string& path, int err) {
  return fs::sys_error(fmt::format("cannot {} {}", what, path), err);
}

// ---- ingest ----

struct IngestOptions {
  std::string file;
  std::string ref;
  std::string digest;
  std::int64_t size = -1;
  std::vector<std::string> labels;
  bool json = false;
};

int run_ingest(const Globals& globals, const IngestOptions& o) {
  const bool from_stdin = o.file == "-";
  const std::string name = from_stdin ? std::string("standard input") : o.file;
  fs::UniqueFd opened; // standard input is borrowed, never closed
  if (!from_stdin) {
    opened.reset(::open(o.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!opened)
      return report(file_error("open", o.file, errno));
  }
  const int fd = from_stdin ? STDIN_FILENO : opened.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return report(file_error("stat", name, errno));
  if (S_ISDIR(st.st_mode))
    return report(invalid_argument(fmt::format("{} is a directory; give a file, or - for "
                                               "standard input",
                                               name)));
  // A regular file's size is known up front (Content-Length); pipes are sent chunked.
  std::optional<std::uint64_t> length;
  if (S_ISREG(st.st_mode))
    length = static_cast<std::uint64_t>(st.st_size);

  std::vector<std::pair<std::string, std::string>> params;
  if (!o.digest.empty())
    params.emplace_back("digest", o.digest);
  if (o.size >= 0)
    params.emplace_back("size", std::to_string(o.size));
  if (!o.ref.empty())
    params.emplace_back("ref", o.ref);
  for (const auto& l : o.labels)
    params.emplace_back("label", l);

  contentio::Source source = [fd, &name](std::span<std::byte> buf) -> Result<std::size_t> {
    for (;;) {
      auto n = ::read(fd, buf.data(), buf.size());
      if (n >= 0)
        return static_cast<std::size_t>(n);
      if (errno != EINTR)
        return file_error("read", name, errno);
    }
  };
  auto answer = Client(globals.address)
                    .upload(http::verb::post, "/v1/content" + query_string(params), source, length);
  if (!answer)
    return report(answer.error().wrap("ingest of " + name));
  auto info = from_json<ContentInfo>(*answer, "POST /v1/content: the ingested blob");
  if (!info)
    return report(internal_error(info.error().message()));
  if (o.json)
    print_json(std::cout, *answer);
  else
    std::cout << info->digest << '\n';
  return exit_ok;
}

// ---- ls ----

struct LsOptions {
  bool json = false;
  bool quiet = false;
  std::vector<std::string> filters;
};

int run_ls(const Globals& globals, const LsOptions& o) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& f : o.filters)
    params.emplace_back("filter", f);
  auto listing = Client(globals.address).get("/v1/content" + query_string(params));
  if (!listing)
    return report(listing.error());
  auto blobs = from_json<std::vector<ContentInfo>>(*listing, "GET /v1/content: the blob list");
  if (!blobs)
    return report(internal_error(blobs.error().message()));
  if (o.json)
    print_json(std::cout, *listing);
  else if (o.quiet)
    for (const auto& b : *blobs)
      std::cout << b.digest << '\n';
  else
    std::cout << content_table(*blobs, std::chrono::system_clock::now());
  return exit_ok;
}

// ---- get ----

struct GetOptions {
  std::string digest;
  std::string output;
};

// Where `get` writes: standard output, a device or FIFO as it is, or a regular file that
// appears under its name only once it is complete (a temporary file renamed into place).
class Output {
public:
  static Result<Output> open(const std::string& path) {
    Output out;
    out.path_ = path;
    if (path.empty() || path == "-") {
      out.name_ = "standard output";
      out.fd_ = STDOUT_FILENO; // borrowed, never closed
      return out;
    }
    out.name_ = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      if (S_ISDIR(st.st_mode))
        return invalid_argument(fmt::format("-o {} is a directory; name a file", path));
      out.owned_.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!out.owned_)
        return file_error("open", path, errno);
      out.fd_ = out.owned_.get();
      return out;
    }
    std::filesystem::path p(path);
    auto dir = p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
    out.temp_ = (dir / ("." + p.filename().string() + ".strata-XXXXXX")).string();
    int fd = ::mkstemp(out.temp_.data());
    if (fd < 0)
      return file_error("create a file in", dir.string(), errno);
    // mkstemp makes 0600; the blob gets the mode any new file would get.
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
    out.owned_.reset(fd);
    out.fd_ = fd;
    return out;
  }

  Output() = default;
  Output(Output&& o) noexcept
      : path_(std::move(o.path_)), name_(std::move(o.name_)), temp_(std::exchange(o.temp_, {})),
        owned_(std::move(o.owned_)), fd_(std::exchange(o.fd_, -1)) {}
  Output& operator=(Output&&) = delete;
  ~Output() {
    if (!temp_.empty())
      ::unlink(temp_.c_str()); // not committed: nothing half-written stays behind
  }

  Status write(std::span<const std::byte> data) { return fs::write_all(fd_, data, name_); }

  Status commit() {
    if (temp_.empty())
      return {};
    if (::fsync(fd_) != 0)
      return file_error("write", name_, errno);
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
      return file_error("rename a temporary file to", path_, errno);
    temp_.clear();
    return {};
  }

  const std::string& name() const { return name_; }

private:
  std::string path_;
  std::string name_;
  std::string temp_;
  fs::UniqueFd owned_; // unless fd_ is standard output
  int fd_ = -1;
};

int run_get(const Globals& globals, const GetOptions& o) {
  if ((o.output.empty() || o.output == "-") && ::isatty(STDOUT_FILENO)) {
    std::cerr << "strata: usage error: refusing to write blob " << o.digest
              << " to a terminal; give -o FILE or redirect standard output\n";
    return exit_usage;
  }
  auto out = Output::open(o.output);
  if (!out)
    return report(out.error());
  digest::Sha256 hash;
  auto st = Client(globals.address).download(blob_path(o.digest), [&](auto data) -> Status {
    hash.update(data);
    return out->write(data);
  });
  if (!st)
    return report(st.error().wrap("get " + o.digest));
  // stratad verifies whole blobs as it sends them; this also covers the way here.
  if (auto got = hash.finish(); o.digest.starts_with("sha256:") && got != o.digest)
    return report(Error(Code::DataLoss, fmt::format("get {}: the bytes received hash to {}; {} "
                                                    "was not written",
                                                    o.digest, got, out->name())));
  if (auto c = out->commit(); !c)
    return report(c.error());
  return exit_ok;
}

// ---- rm ----

int run_rm(const Globals& globals, const std::vector<std::string>& digests) {
  Client client(globals.address);
  return remove_each(digests, [&client](const std::string& d) -> Status {
    auto r = client.request(http::verb::delete_, blob_path(d));
    return r ? Status{} : Status(std::move(r).error());
  });
}

// ---- label ----

struct LabelOptions {
  std::string digest;
  std::vector<std::string> labels;
  bool json = false;
};

int run_label(const Globals& globals, const LabelOptions& o) {
  json::object labels;
  for (const auto& text : o.labels) {
    auto l = parse_label_arg(text); // validated while parsing the command line
    labels[l->key] = l->value;
  }
  json::value body{{"labels", std::move(labels)}};
  auto answer = Client(globals.address).request(http::verb::patch, blob_path(o.digest), &body);
  if (!answer)
    return report(answer.error());
  auto info = from_json<ContentInfo>(*answer, "PATCH /v1/content: the updated blob");
  if (!info)
    return report(internal_error(info.error().message()));
  if (o.json)
    print_json(std::cout, *answer);
  else
    for (const auto& [k, v] : info->labels)
      std::cout << k << '=' << v << '\n';
  return exit_ok;
}

} // namespace

void add_content_command(CLI::App& app, const Globals& globals, Outcome& outcome) {
  auto* content =
      app.add_subcommand("content", "Blobs in stratad's content store: ingest, ls, get, rm, label");
  content->require_subcommand(1);
  content->footer("Examples:\n"
                  "  strata content ingest layer.tar.gz\n"
                  "  strata content ls\n"
                  "  strata content get sha256:... -o layer.tar.gz");

  auto in = std::make_shared<IngestOptions>();
  auto* ingest = content->add_subcommand(
      "ingest", "Stream a file (or standard input) into the store; print its digest");
  ingest->add_option("--ref", in->ref, "ingest reference (default: a random one)");
  ingest->add_option("--digest", in->digest,
                     "expected digest: nothing is stored when the data does not match; an "
                     "existing blob is not sent again");
  ingest->add_option("--size", in->size, "expected size in bytes, verified like --digest")
      ->check(CLI::NonNegativeNumber);
  ingest->add_option("-l,--label", in->labels, "KEY=VALUE label of the new blob; repeatable")
      ->check(check_label_arg);
  ingest->add_flag("--json", in->json, "print the blob's info as JSON");
  ingest->add_option("FILE", in->file, "the file, or - for standard input")->required();
  ingest->footer("Examples:\n"
                 "  strata content ingest layer.tar.gz\n"
                 "  curl -sL URL | strata content ingest --digest sha256:... -\n"
                 "  strata content ingest --label purpose=test --json blob.bin");
  ingest->callback([&globals, &outcome, in] { outcome.exit_code = run_ingest(globals, *in); });

  auto ls_opts = std::make_shared<LsOptions>();
  auto* ls = content->add_subcommand("ls", "List blobs: digest, size, age, labels");
  ls->alias("list");
  auto* as_json = ls->add_flag("--json", ls_opts->json, "the blobs' info as stratad returned it");
  ls->add_flag("-q,--quiet", ls_opts->quiet, "only the digests")->excludes(as_json);
  ls->add_option("FILTER", ls_opts->filters,
                 "digest==D, labels.KEY==VALUE or labels.KEY (also !=, ~= regex); comma-separated "
                 "terms all hold; a blob is shown when any matches")
      ->type_name("");
  ls->footer("Examples:\n"
             "  strata content ls\n"
             "  strata content ls -q labels.purpose==test\n"
             "  strata content ls --json | jq '.[].digest'");
  ls->callback([&globals, &outcome, ls_opts] { outcome.exit_code = run_ls(globals, *ls_opts); });

  auto get_opts = std::make_shared<GetOptions>();
  auto* get = content->add_subcommand(
      "get", "Write a blob to a file or standard output (never to a terminal)");
  get->add_option("DIGEST", get_opts->digest, "the blob's digest")->required();
  get->add_option("-o,--output", get_opts->output,
                  "file to write; it appears only once complete and verified (default: "
                  "standard output)");
  get->footer("Examples:\n"
              "  strata content get sha256:... -o layer.tar.gz\n"
              "  strata content get sha256:... | tar -tz");
  get->callback(
      [&globals, &outcome, get_opts] { outcome.exit_code = run_get(globals, *get_opts); });

  auto rm_digests = std::make_shared<std::vector<std::string>>();
  auto* rm = content->add_subcommand("rm", "Remove blobs; exit 1 when any could not be removed");
  rm->alias("remove");
  rm->add_option("DIGEST", *rm_digests, "digests of the blobs to remove")->required();
  rm->callback(
      [&globals, &outcome, rm_digests] { outcome.exit_code = run_rm(globals, *rm_digests); });

  auto label_opts = std::make_shared<LabelOptions>();
  auto* label = content->add_subcommand("label", "Set or remove labels of a blob");
  label->add_option("DIGEST", label_opts->digest, "the blob's digest")->required();
  label->add_option("LABEL", label_opts->labels, "KEY=VALUE to set, KEY= to remove")
      ->required()
      ->check(check_label_arg);
  label->add_flag("--json", label_opts->json, "print the blob's info as JSON");
  label->footer("Examples:\n"
                "  strata content label sha256:... purpose=test\n"
                "  strata content label sha256:... purpose=");
  label->callback(
      [&globals, &outcome, label_opts] { outcome.exit_code = run_label(globals, *label_opts); });
}

} // namespace strata::cli
