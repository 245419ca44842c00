// `strata image unpack|mount|unmount`: an image's layers into snapshots through stratad, and its
// top snapshot mounted by this process (where the caller's privileges and mount namespace are).

#include "client.hpp"
#include "commands.hpp"
#include "json_output.hpp"
#include "progress_bars.hpp"
#include "snapshot_format.hpp"

#include <strata/mount/mount.hpp>
#include <strata/plugin/images.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <sys/mount.h>
#include <unistd.h>

namespace strata::cli {
namespace {

std::string image_path(std::string_view name, std::string_view suffix = {}) {
  return "/v1/images/" + encode_segment(name) + (suffix.empty() ? "" : "/" + std::string(suffix));
}

Result<Image> get_image(const Client& client, const std::string& name) {
  auto answer = client.get(image_path(name));
  if (!answer)
    return std::move(answer).error();
  auto image = from_json<Image>(*answer, "the image record");
  if (!image)
    return internal_error(image.error().message());
  return image;
}

// ---- unpack ----

struct UnpackArgs {
  std::string name;
  std::string snapshotter = "overlayfs";
  bool sync_fs = false;
  bool sequential = false;
  bool json = false;
};

std::string summary(const UnpackResult& r) {
  std::size_t applied = 0;
  for (const auto& l : r.layers)
    applied += l.applied ? 1 : 0;
  return fmt::format("unpacked {} into {}: {} ({} layers: {} applied, {} already there; {}{}; "
                     "{:.2f} s)\n",
                     r.image, r.snapshotter, r.chain_id, r.layers.size(), applied,
                     r.layers.size() - applied, r.parallel ? "parallel" : "sequential",
                     r.sync_fs ? ", synced" : "", r.seconds);
}

// Reads the NDJSON progress lines of an unpack and draws them; the result or error is the last
// line.
class ProgressReader {
public:
  explicit ProgressReader(const Image& image) {
    const auto& layers = image.resolved.layers;
    std::vector<ProgressBars::Item> items;
    for (std::size_t i = 0; i < layers.size(); ++i)
      items.push_back(
          {fmt::format("layer {}/{} {}", i + 1, layers.size(), layers[i].digest.substr(0, 19)),
           static_cast<std::uint64_t>(std::max<std::int64_t>(layers[i].size, 0)), 0, "waiting"});
    bars_ = std::make_unique<ProgressBars>(std::cout, std::move(items));
  }

  Status consume(std::span<const std::byte> data) {
    buffer_.append(reinterpret_cast<const char*>(data.data()), data.size());
    for (std::size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (auto st = handle(line); !st)
        return st;
    }
    return {};
  }

  Result<UnpackResult> outcome() {
    bars_->finish();
    if (error_)
      return *error_;
    if (!result_)
      return Error(Code::DataLoss, "the progress stream ended without a result; see stratad's log");
    return *result_;
  }

private:
  Status handle(const std::string& line) {
    boost::system::error_code ec;
    auto doc = json::parse(line, ec);
    if (ec || !doc.is_object())
      return internal_error("unpack progress: not a JSON object: " + line);
    const auto& o = doc.as_object();
    if (const auto* p = o.if_contains("progress")) {
      auto progress = from_json<UnpackProgress>(*p, "progress");
      if (!progress)
        return internal_error(progress.error().message());
      bars_->update(progress->layer, progress->bytes, to_string(progress->state));
    } else if (const auto* r = o.if_contains("result")) {
      auto result = from_json<UnpackResult>(*r, "result");
      if (!result)
        return internal_error(result.error().message());
      result_ = std::move(*result);
    } else if (const auto* e = o.if_contains("error"); e && e->is_object()) {
      const auto* code = e->as_object().if_contains("code");
      const auto* message = e->as_object().if_contains("message");
      auto parsed = code && code->is_string() ? parse_code(code->as_string()) : std::nullopt;
      error_ = Error(parsed.value_or(Code::Unknown),
                     message && message->is_string() ? std::string(message->as_string()) : line);
    }
    return {};
  }

  std::unique_ptr<ProgressBars> bars_;
  std::string buffer_;
  std::optional<UnpackResult> result_;
  std::optional<Error> error_;
};

int run_unpack(const Globals& globals, const UnpackArgs& a) {
  Client client(globals.address);
  json::object body{
      {"snapshotter", a.snapshotter}, {"parallel", !a.sequential}, {"syncFs", a.sync_fs}};
  Result<UnpackResult> result = internal_error("no answer");
  if (!a.json && ::isatty(STDOUT_FILENO)) {
    auto image = get_image(client, a.name);
    if (!image)
      return report(image.error().wrap("unpack " + a.name));
    body["progress"] = true;
    json::value doc(std::move(body));
    ProgressReader reader(*image);
    auto st =
        client.download(http::verb::post, image_path(a.name, "unpack"), &doc,
                        [&reader](std::span<const std::byte> d) { return reader.consume(d); });
    result = st ? reader.outcome() : Result<UnpackResult>(st.error());
  } else {
    auto answer = client.post(image_path(a.name, "unpack"), body);
    if (!answer)
      return report(answer.error().wrap("unpack " + a.name));
    if (a.json) {
      print_json(std::cout, *answer);
      return exit_ok;
    }
    result = from_json<UnpackResult>(*answer, "the unpack result");
  }
  if (!result)
    return report(result.error().wrap("unpack " + a.name));
  std::cout << summary(*result);
  return exit_ok;
}

// ---- mount, unmount ----

// The snapshot an image mount uses is named after the mount point, so that unmount finds it.
std::string mount_key(const std::string& target) {
  return "strata-image-mount:" + target;
}

Result<std::string> absolute_target(const std::string& target) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(target, ec);
  if (ec)
    return invalid_argument(fmt::format("cannot make {} absolute: {}", target, ec.message()));
  auto normal = abs.lexically_normal().string();
  if (normal.size() > 1 && normal.back() == '/')
    normal.pop_back();
  return normal;
}

struct MountArgs {
  std::string name;
  std::string target;
  std::string snapshotter = "overlayfs";
  bool rw = false;
};

int run_mount(const Globals& globals, const MountArgs& a) {
  Client client(globals.address);
  auto target = absolute_target(a.target);
  if (!target)
    return report(target.error());
  auto image = get_image(client, a.name);
  if (!image)
    return report(image.error().wrap("mount " + a.name));
  if (image->resolved.chain_ids.empty())
    return report(failed_precondition(
        fmt::format("mount {}: the image record has no chain IDs; import it again", a.name)));
  const std::string& top = image->resolved.chain_ids.back();
  const std::string key = mount_key(*target);
  json::object body{{"key", key},
                    {"kind", a.rw ? "active" : "view"},
                    {"parent", top},
                    {"labels", json::object{{"strata/image.mount", a.name}}}};
  auto answer = client.post(snapshot_path(a.snapshotter), body);
  if (!answer) {
    if (answer.error().code() == Code::NotFound)
      return report(not_found(fmt::format(
          "mount {}: it is not unpacked into {} (no snapshot {}); run `strata image unpack {} "
          "--snapshotter {}` first",
          a.name, a.snapshotter, top, a.name, a.snapshotter)));
    return report(answer.error().wrap(fmt::format("mount {} on {}", a.name, *target)));
  }
  auto mounts = from_json<std::vector<Mount>>(*answer, "the snapshot's mounts");
  Status st = mounts ? mount::mount_all(*mounts, *target) : Status(mounts.error());
  if (!st) {
    // Nothing half-done: the snapshot made for this mount goes with the failed mount.
    (void)client.request(http::verb::delete_, snapshot_path(a.snapshotter, key));
    return report(st.error().wrap(fmt::format("mount {} on {}", a.name, *target)));
  }
  std::cout << fmt::format("mounted {} ({}) on {}{}\n", a.name, top, *target,
                           a.rw ? " read-write; changes are discarded at unmount" : " read-only");
  return exit_ok;
}

struct UnmountArgs {
  std::string target;
  std::string snapshotter = "overlayfs";
  bool lazy = false;
};

int run_unmount(const Globals& globals, const UnmountArgs& a) {
  auto target = absolute_target(a.target);
  if (!target)
    return report(target.error());
  if (auto st = mount::unmount_all(*target, a.lazy ? MNT_DETACH : 0); !st)
    return report(st.error().wrap("unmount " + *target));
  auto removed =
      Client(globals.address)
          .request(http::verb::delete_, snapshot_path(a.snapshotter, mount_key(*target)));
  if (!removed && removed.error().code() != Code::NotFound)
    return report(removed.error().wrap(fmt::format(
        "unmount {}: unmounted, but its snapshot {} stays", *target, mount_key(*target))));
  return exit_ok;
}

} // namespace

void add_image_unpack_commands(CLI::App& image, const Globals& globals, Outcome& outcome) {
  auto un = std::make_shared<UnpackArgs>();
  auto* unpack = image.add_subcommand(
      "unpack", "Unpack an image's layers into snapshots of a snapshotter, one committed "
                "snapshot per layer named by its chain ID; layers already there are skipped");
  unpack->add_option("NAME", un->name, "the image's name")->required();
  unpack->add_option("--snapshotter", un->snapshotter, "the snapshotter's id")
      ->capture_default_str();
  unpack->add_flag("--sync-fs", un->sync_fs,
                   "syncfs(2) the snapshotter's filesystem after applying and before committing: "
                   "committed layers survive a power failure (costs some time)");
  unpack->add_flag("--sequential", un->sequential,
                   "apply one layer after another even when the snapshotter could take them in "
                   "parallel");
  unpack->add_flag("--json", un->json, "print the result as JSON (no progress bars)");
  unpack->footer("Progress bars are drawn when stdout is a terminal.\n"
                 "Examples:\n"
                 "  strata image unpack docker.io/library/alpine:3.19\n"
                 "  strata image unpack example.com/app:1 --sync-fs --json");
  unpack->callback([&globals, &outcome, un] { outcome.exit_code = run_unpack(globals, *un); });

  auto mo = std::make_shared<MountArgs>();
  auto* mount = image.add_subcommand(
      "mount", "Mount an unpacked image's root filesystem on TARGET: a read-only view of its top "
               "snapshot, or with --rw a writable snapshot whose changes are discarded at "
               "unmount");
  mount->add_option("NAME", mo->name, "the image's name")->required();
  mount->add_option("TARGET", mo->target, "an existing directory")->required();
  mount->add_option("--snapshotter", mo->snapshotter, "the snapshotter it was unpacked into")
      ->capture_default_str();
  mount->add_flag("--rw", mo->rw, "mount a writable snapshot instead of a read-only view");
  mount->footer("Example:\n"
                "  strata image mount docker.io/library/alpine:3.19 /mnt/alpine && ls /mnt/alpine\n"
                "  strata image unmount /mnt/alpine");
  mount->callback([&globals, &outcome, mo] { outcome.exit_code = run_mount(globals, *mo); });

  auto um = std::make_shared<UnmountArgs>();
  auto* unmount = image.add_subcommand(
      "unmount", "Unmount what `strata image mount` mounted on TARGET and remove its snapshot");
  unmount->alias("umount");
  unmount->add_option("TARGET", um->target, "the mount point")->required();
  unmount->add_option("--snapshotter", um->snapshotter, "the snapshotter of the mount")
      ->capture_default_str();
  unmount->add_flag("--lazy", um->lazy, "detach now, clean up when no longer busy (MNT_DETACH)");
  unmount->callback([&globals, &outcome, um] { outcome.exit_code = run_unmount(globals, *um); });
}

} // namespace strata::cli
