// `strata diff apply|compare`: layers onto and out of filesystems, through stratad's differs.

#include "client.hpp"
#include "commands.hpp"
#include "content_format.hpp"
#include "json_output.hpp"

#include <strata/plugin/differ.hpp>

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

namespace strata::cli {
namespace {

// "?differ=ID" or "".
std::string differ_query(const std::string& differ) {
  return differ.empty() ? std::string() : "?differ=" + encode_segment(differ);
}

// A directory as the one bind mount a differ works on.
Result<std::vector<Mount>> directory_mounts(const std::string& dir, bool read_only) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(dir, ec);
  if (ec || !std::filesystem::is_directory(abs, ec))
    return invalid_argument(fmt::format("{} is not a directory; give a directory, or the "
                                        "snapshot's mounts with --mounts",
                                        dir));
  Mount m;
  m.type = "bind";
  m.source = abs.lexically_normal().string();
  m.options = {"rbind", read_only ? "ro" : "rw"};
  return std::vector<Mount>{m};
}

// Mounts from a JSON file (or - for standard input): an array of {type, source, options}, as
// `strata snapshots mounts KEY --json` prints them.
Result<std::vector<Mount>> mounts_file(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path);
    if (!in)
      return not_found(fmt::format("cannot read mounts file {}", path));
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  const std::string what = path == "-" ? "mounts on standard input" : "mounts file " + path;
  auto value = parse_json(text, what);
  if (!value)
    return std::move(value).error();
  return from_json<std::vector<Mount>>(*value, what + " (expected [{\"type\", \"source\", "
                                                      "\"options\"}, ...])");
}

// Mounts from exactly one of a directory and a mounts file.
Result<std::vector<Mount>> pick_mounts(const std::string& dir, const std::string& file,
                                       bool read_only, std::string_view which) {
  if (!dir.empty() && !file.empty())
    return invalid_argument(fmt::format("give the {} as a directory or with a mounts file, not "
                                        "both",
                                        which));
  if (!file.empty())
    return mounts_file(file);
  if (dir.empty())
    return invalid_argument(
        fmt::format("the {} is missing: give a directory or a mounts file", which));
  return directory_mounts(dir, read_only);
}

// The descriptor a diff route answered with.
Result<Descriptor> descriptor_of(const json::value& answer, std::string_view route) {
  auto desc = from_json<Descriptor>(answer, route);
  if (!desc)
    return internal_error(desc.error().message());
  return desc;
}

// ---- apply ----

struct ApplyArgs {
  std::string digest;
  std::string target;
  std::string mounts;
  std::string media_type = media_type::docker_layer;
  std::int64_t size = -1;
  std::string diff_id;
  bool sync_fs = false;
  std::string differ;
  bool json = false;
};

int run_apply(const Globals& globals, const ApplyArgs& a) {
  auto mounts = pick_mounts(a.target, a.mounts, false, "target");
  if (!mounts)
    return report(mounts.error());
  Client client(globals.address);
  Descriptor desc{a.media_type, a.digest, a.size, {}};
  if (desc.size < 0) {
    // The store knows the blob's size; asking saves the user from typing it.
    auto info = client.get("/v1/content/" + encode_segment(a.digest) + "/info");
    if (!info)
      return report(info.error());
    auto ci = from_json<ContentInfo>(*info, "GET /v1/content/{digest}/info");
    if (!ci)
      return report(internal_error(ci.error().message()));
    desc.size = ci->size;
  }
  ApplyOptions opts;
  opts.diff_id = a.diff_id;
  opts.sync_fs = a.sync_fs;
  json::value body{{"descriptor", json::value_from(desc)},
                   {"mounts", json::value_from(*mounts)},
                   {"options", json::value_from(opts)}};
  const std::string route = "/v1/diff/apply" + differ_query(a.differ);
  auto answer = client.post(route, body);
  if (!answer)
    return report(answer.error());
  auto applied = descriptor_of(*answer, "POST /v1/diff/apply");
  if (!applied)
    return report(applied.error());
  if (a.json)
    print_json(std::cout, *answer);
  else
    std::cout << fmt::format("applied {} ({} uncompressed)\n", applied->digest,
                             human_size(applied->size));
  return exit_ok;
}

// ---- compare ----

// --source-date-epoch SECONDS: the CLI11 check, so that a value out of range is refused with the
// range before anything is sent (the daemon refuses it too).
std::string check_source_date_epoch_arg(const std::string& text) {
  std::int64_t secs = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (ec == std::errc::result_out_of_range)
    secs = -1; // out of range either way: the message below gives the range
  else if (ec != std::errc() || end != text.data() + text.size())
    return "--source-date-epoch \"" + text + "\" is not a whole number of seconds since 1970";
  auto t = source_date_epoch_of(secs, "--source-date-epoch " + text);
  return t ? std::string() : t.error().message();
}

struct CompareArgs {
  std::string lower;
  std::string upper;
  std::string lower_mounts;
  std::string upper_mounts;
  std::string media_type;
  std::string ref;
  std::vector<std::string> labels;
  std::int64_t source_date_epoch = -1;
  std::string differ;
  bool json = false;
};

int run_compare(const Globals& globals, const CompareArgs& a) {
  auto lower = pick_mounts(a.lower, a.lower_mounts, true, "lower");
  if (!lower)
    return report(lower.error());
  auto upper = pick_mounts(a.upper, a.upper_mounts, true, "upper");
  if (!upper)
    return report(upper.error());
  CompareOptions opts;
  opts.media_type = a.media_type;
  opts.reference = a.ref;
  for (const auto& text : a.labels) {
    auto l = parse_label_arg(text); // validated while parsing the command line
    opts.labels[l->key] = l->value;
  }
  if (a.source_date_epoch >= 0) {
    auto epoch = source_date_epoch_of(a.source_date_epoch, "--source-date-epoch");
    if (!epoch)
      return report(epoch.error());
    opts.source_date_epoch = *epoch;
  }
  json::value body{{"lower", json::value_from(*lower)},
                   {"upper", json::value_from(*upper)},
                   {"options", json::value_from(opts)}};
  Client client(globals.address);
  auto answer = client.post("/v1/diff/compare" + differ_query(a.differ), body);
  if (!answer)
    return report(answer.error());
  auto written = descriptor_of(*answer, "POST /v1/diff/compare");
  if (!written)
    return report(written.error());
  if (a.json)
    print_json(std::cout, *answer);
  else
    std::cout << written->digest << '\n';
  return exit_ok;
}

} // namespace

void add_diff_command(CLI::App& app, const Globals& globals, Outcome& outcome) {
  auto* diff = app.add_subcommand(
      "diff", "Apply layers onto filesystems and write filesystem changes as layers");
  diff->require_subcommand(1);
  diff->footer("The diff service tries its differs in the configured order (`strata plugins ls "
               "--detailed`);\n--differ ID uses one differ plugin directly.\n\n"
               "Examples:\n"
               "  strata diff apply sha256:... /var/lib/rootfs\n"
               "  strata diff compare base/ changed/ --source-date-epoch 0");

  auto ap = std::make_shared<ApplyArgs>();
  auto* apply =
      diff->add_subcommand("apply", "Apply a layer blob from the content store onto a directory "
                                    "or a snapshot's mounts; print the uncompressed digest");
  apply->add_option("DIGEST", ap->digest, "the layer blob's digest")->required();
  apply->add_option("TARGET", ap->target, "directory to apply onto (a bind mount)");
  apply->add_option("--mounts", ap->mounts,
                    "JSON file of the mounts to apply onto (- for standard input), e.g. from "
                    "`strata snapshots mounts KEY --json`");
  apply
      ->add_option("--media-type", ap->media_type,
                   "the blob's media type; the default detects gzip/zstd by magic")
      ->capture_default_str();
  apply->add_option("--size", ap->size, "the blob's size (default: asked of the content store)")
      ->check(CLI::NonNegativeNumber);
  apply->add_option("--diff-id", ap->diff_id,
                    "expected digest of the uncompressed layer; a mismatch fails the apply");
  apply->add_flag("--sync-fs", ap->sync_fs, "syncfs(2) the target filesystem before returning");
  apply->add_option("--differ", ap->differ, "differ plugin id to use instead of the diff service");
  apply->add_flag("--json", ap->json, "print the applied layer's descriptor as JSON");
  apply->footer("Examples:\n"
                "  strata diff apply sha256:... ./rootfs\n"
                "  strata snapshots mounts layer1 --json | strata diff apply --mounts - "
                "sha256:...");
  apply->callback([&globals, &outcome, ap] { outcome.exit_code = run_apply(globals, *ap); });

  auto cp = std::make_shared<CompareArgs>();
  auto* compare = diff->add_subcommand(
      "compare", "Write the changes from LOWER to UPPER as a layer blob; print its digest");
  compare->add_option("LOWER", cp->lower, "directory before the changes");
  compare->add_option("UPPER", cp->upper, "directory after the changes");
  compare->add_option("--lower-mounts", cp->lower_mounts, "JSON file of the lower mounts");
  compare->add_option("--upper-mounts", cp->upper_mounts, "JSON file of the upper mounts");
  compare->add_option("--media-type", cp->media_type,
                      "media type of the blob (default: the differ's, layer tar+gzip)");
  compare->add_option("--ref", cp->ref, "content store ingest reference");
  compare->add_option("-l,--label", cp->labels, "KEY=VALUE label of the blob; repeatable")
      ->check(check_label_arg);
  compare
      ->add_option("--source-date-epoch", cp->source_date_epoch,
                   "clamp newer timestamps to these seconds since the epoch (reproducible "
                   "layers), 0 to 9223372036 (2262-04-11T23:47:16Z)")
      ->check(check_source_date_epoch_arg);
  compare->add_option("--differ", cp->differ,
                      "differ plugin id to use instead of the diff service");
  compare->add_flag("--json", cp->json, "print the blob's descriptor as JSON");
  compare->footer("Examples:\n"
                  "  strata diff compare base/ changed/\n"
                  "  strata diff compare --source-date-epoch \"$SOURCE_DATE_EPOCH\" a/ b/");
  compare->callback([&globals, &outcome, cp] { outcome.exit_code = run_compare(globals, *cp); });
}

} // namespace strata::cli
