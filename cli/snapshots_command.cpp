// `strata snapshots`: the snapshots of one snapshotter plugin, through stratad's snapshot routes;
// `mount` and `unmount` do the mount(2) work in this process, where the caller's privileges and
// mount namespace are.

#include "client.hpp"
#include "commands.hpp"
#include "content_format.hpp"
#include "json_output.hpp"
#include "snapshot_format.hpp"

#include <strata/mount/mount.hpp>

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <sys/mount.h>

namespace strata::cli {
namespace {

// Options of `strata snapshots` itself, seen by every subcommand.
struct SnapshotsGlobals {
  std::string snapshotter = "overlayfs";
};

struct Context {
  const Globals& globals;
  SnapshotsGlobals snap;
  Client client() const { return Client(globals.address); }
  std::string path(std::string_view key = {}, std::string_view suffix = {}) const {
    return snapshot_path(snap.snapshotter, key, suffix);
  }
};

std::string check_label(const std::string& text) {
  auto l = parse_label_arg(text);
  return l ? std::string() : l.error().message();
}

json::object labels_object(const std::vector<std::string>& args) {
  json::object labels;
  for (const auto& text : args) {
    auto l = parse_label_arg(text); // validated while parsing the command line
    labels[l->key] = l->value;
  }
  return labels;
}

// The answer of a route as T, or an Internal error naming what was expected.
template <class T> Result<T> answer_as(const Result<json::value>& answer, std::string_view what) {
  if (!answer)
    return answer.error();
  auto v = from_json<T>(*answer, what);
  if (!v)
    return internal_error(v.error().message());
  return v;
}

// GET of the snapshot list with `filters`; the answer as stratad sent it.
Result<json::value> get_list(const Context& ctx, const std::vector<std::string>& filters) {
  std::string query;
  for (const auto& f : filters)
    query += (query.empty() ? "?" : "&") + std::string("filter=") + encode_segment(f);
  return ctx.client().get(ctx.path() + query);
}

Result<std::vector<Info>> list(const Context& ctx, const std::vector<std::string>& filters) {
  return answer_as<std::vector<Info>>(get_list(ctx, filters), "the snapshot list");
}

// ---- prepare, view ----

struct CreateOptions {
  std::string key;
  std::string parent;
  std::vector<std::string> labels;
  bool json = false;
};

int run_create(const Context& ctx, const CreateOptions& o, std::string_view kind) {
  json::object body{{"key", o.key}, {"kind", kind}};
  if (!o.parent.empty())
    body["parent"] = o.parent;
  if (!o.labels.empty())
    body["labels"] = labels_object(o.labels);
  json::value doc(std::move(body));
  auto answer = ctx.client().post(ctx.path(), doc);
  auto mounts = answer_as<std::vector<Mount>>(answer, "the new snapshot's mounts");
  if (!mounts)
    return report(
        mounts.error().wrap(fmt::format("{} {}", kind == "view" ? "view" : "prepare", o.key)));
  if (o.json)
    print_json(std::cout, *answer);
  else
    std::cout << mounts_table(*mounts);
  return exit_ok;
}

// ---- commit ----

struct CommitOptions {
  std::string name;
  std::string key;
  std::string parent;
  std::vector<std::string> labels;
  bool json = false;
};

int run_commit(const Context& ctx, const CommitOptions& o) {
  json::object body{{"name", o.name}};
  if (!o.parent.empty())
    body["parent"] = o.parent;
  if (!o.labels.empty())
    body["labels"] = labels_object(o.labels);
  json::value doc(std::move(body));
  auto answer = ctx.client().post(ctx.path(o.key, "commit"), doc);
  auto info = answer_as<Info>(answer, "the committed snapshot");
  if (!info)
    return report(info.error().wrap(fmt::format("commit {} as {}", o.key, o.name)));
  if (o.json)
    print_json(std::cout, *answer);
  else
    std::cout << info->name << '\n';
  return exit_ok;
}

// ---- mounts, stat ----

int run_mounts(const Context& ctx, const std::string& key, bool as_json) {
  auto answer = ctx.client().get(ctx.path(key, "mounts"));
  auto mounts = answer_as<std::vector<Mount>>(answer, "the snapshot's mounts");
  if (!mounts)
    return report(mounts.error());
  if (as_json)
    print_json(std::cout, *answer);
  else
    std::cout << mounts_table(*mounts);
  return exit_ok;
}

int run_stat(const Context& ctx, const std::string& key, bool as_json) {
  auto answer = ctx.client().get(ctx.path(key));
  auto info = answer_as<Info>(answer, "the snapshot's info");
  if (!info)
    return report(info.error());
  if (as_json)
    print_json(std::cout, *answer);
  else
    std::cout << snapshot_details(*info);
  return exit_ok;
}

// ---- rm ----

int run_rm(const Context& ctx, const std::vector<std::string>& keys) {
  return remove_each(keys, [&ctx](const std::string& key) -> Status {
    auto r = ctx.client().request(http::verb::delete_, ctx.path(key));
    return r ? Status{} : Status(std::move(r).error());
  });
}

// ---- ls, tree ----

struct LsOptions {
  std::vector<std::string> filters;
  bool json = false;
  bool quiet = false;
};

int run_ls(const Context& ctx, const LsOptions& o) {
  auto answer = get_list(ctx, o.filters);
  auto snapshots = answer_as<std::vector<Info>>(answer, "the snapshot list");
  if (!snapshots)
    return report(snapshots.error());
  if (o.json)
    print_json(std::cout, *answer);
  else if (o.quiet)
    for (const auto& s : *snapshots)
      std::cout << s.name << '\n';
  else
    std::cout << snapshots_table(*snapshots, std::chrono::system_clock::now());
  return exit_ok;
}

int run_tree(const Context& ctx) {
  auto snapshots = list(ctx, {});
  if (!snapshots)
    return report(snapshots.error());
  std::cout << snapshot_tree(*snapshots);
  return exit_ok;
}

// ---- usage ----

int run_usage(const Context& ctx, const std::string& key, bool as_json) {
  if (!key.empty()) {
    auto answer = ctx.client().get(ctx.path(key, "usage"));
    auto usage = answer_as<Usage>(answer, "the snapshot's usage");
    if (!usage)
      return report(usage.error());
    if (as_json)
      print_json(std::cout, *answer);
    else
      std::cout << usage_table({{key, *usage}});
    return exit_ok;
  }
  auto snapshots = list(ctx, {});
  if (!snapshots)
    return report(snapshots.error());
  std::vector<std::pair<std::string, Usage>> usages;
  for (const auto& s : *snapshots) {
    auto usage =
        answer_as<Usage>(ctx.client().get(ctx.path(s.name, "usage")), "the snapshot's usage");
    // Removed since it was listed: not an error, it is simply no longer there to measure.
    if (!usage && usage.error().code() == Code::NotFound)
      continue;
    if (!usage)
      return report(usage.error().wrap("usage of " + s.name));
    usages.emplace_back(s.name, *usage);
  }
  if (as_json) {
    json::array out;
    for (const auto& [name, u] : usages)
      out.push_back(json::object{{"name", name}, {"usage", json::value_from(u)}});
    print_json(std::cout, out);
  } else {
    std::cout << usage_table(usages);
  }
  return exit_ok;
}

// ---- label ----

struct LabelOptions {
  std::string key;
  std::vector<std::string> labels;
  bool json = false;
};

int run_label(const Context& ctx, const LabelOptions& o) {
  json::value body{{"labels", labels_object(o.labels)}};
  auto answer = ctx.client().request(http::verb::patch, ctx.path(o.key), &body);
  auto info = answer_as<Info>(answer, "the updated snapshot");
  if (!info)
    return report(info.error());
  if (o.json)
    print_json(std::cout, *answer);
  else
    for (const auto& [k, v] : info->labels)
      std::cout << k << '=' << v << '\n';
  return exit_ok;
}

// ---- cleanup ----

int run_cleanup(const Context& ctx) {
  auto r = ctx.client().request(
      http::verb::post, "/v1/snapshotters/" + encode_segment(ctx.snap.snapshotter) + "/cleanup");
  // NotImplemented is the interface's way of saying there is never anything to clean: the
  // cleanup asked for is done.
  if (!r && r.error().code() == Code::NotImplemented) {
    std::cerr << "strata: snapshotter " << ctx.snap.snapshotter
              << " has nothing to clean up (it does not implement cleanup)\n";
    return exit_ok;
  }
  if (!r)
    return report(r.error());
  return exit_ok;
}

// ---- mount, unmount ----

int run_mount(const Context& ctx, const std::string& key, const std::string& target) {
  auto mounts = answer_as<std::vector<Mount>>(ctx.client().get(ctx.path(key, "mounts")),
                                              "the snapshot's mounts");
  if (!mounts)
    return report(mounts.error().wrap("mount " + key));
  if (mounts->empty())
    return report(failed_precondition(fmt::format(
        "mount {}: snapshotter {} returned no mounts for it", key, ctx.snap.snapshotter)));
  if (auto st = mount::mount_all(*mounts, target); !st)
    return report(st.error().wrap(fmt::format("mount {} on {}", key, target)));
  return exit_ok;
}

int run_unmount(const std::string& target, bool lazy) {
  if (auto st = mount::unmount_all(target, lazy ? MNT_DETACH : 0); !st)
    return report(st.error().wrap("unmount " + target));
  return exit_ok;
}

} // namespace

void add_snapshots_command(CLI::App& app, const Globals& globals, Outcome& outcome) {
  // Shared by the callbacks, which CLI11 keeps as long as the app; --snapshotter is parsed into
  // it before any callback runs.
  auto ctx = std::make_shared<Context>(Context{globals, {}});
  auto* snapshots = app.add_subcommand(
      "snapshots", "Snapshots of a snapshotter plugin: prepare, view, commit, mounts, rm, stat, "
                   "ls, usage, label, tree, cleanup, mount, unmount");
  snapshots->alias("snapshot");
  snapshots->require_subcommand(1);
  snapshots
      ->add_option("--snapshotter", ctx->snap.snapshotter,
                   "the snapshotter plugin's id (see `strata plugins ls`)")
      ->envname("STRATA_SNAPSHOTTER")
      ->capture_default_str();
  snapshots->footer("Keys may hold '/' and spaces; quote them for the shell.\n\n"
                    "Examples:\n"
                    "  strata snapshots prepare base\n"
                    "  strata snapshots mount base /mnt/base && touch /mnt/base/hello\n"
                    "  strata snapshots unmount /mnt/base\n"
                    "  strata snapshots commit base-layer base\n"
                    "  strata snapshots view inspect base-layer\n"
                    "  strata snapshots --snapshotter native ls --filter kind==committed\n"
                    "  strata snapshots tree");

  // The Context and options live as long as the callbacks that hold them.
  auto run = [&outcome](auto fn) { return [&outcome, fn] { outcome.exit_code = fn(); }; };

  for (std::string kind : {"prepare", "view"}) {
    auto o = std::make_shared<CreateOptions>();
    auto* sub = snapshots->add_subcommand(
        kind, kind == "prepare"
                  ? "Create an active (writable) snapshot KEY on committed PARENT; print its mounts"
                  : "Create a read-only view KEY of committed PARENT; print its mounts");
    sub->add_option("KEY", o->key, "the new snapshot's key")->required();
    sub->add_option("PARENT", o->parent, "committed parent (default: none, an empty directory)");
    sub->add_option("-l,--label", o->labels, "KEY=VALUE label of the new snapshot; repeatable")
        ->check(check_label);
    sub->add_flag("--json", o->json, "print the mounts as JSON");
    sub->footer(kind == "prepare" ? "Examples:\n"
                                    "  strata snapshots prepare base\n"
                                    "  strata snapshots prepare --label team=fs work base-layer"
                                  : "Examples:\n"
                                    "  strata snapshots view inspect base-layer\n"
                                    "  strata snapshots view --json inspect base-layer");
    const std::string_view api_kind = kind == "prepare" ? "active" : "view";
    sub->callback(run([ctx, o, api_kind] { return run_create(*ctx, *o, api_kind); }));
  }

  auto commit_opts = std::make_shared<CommitOptions>();
  auto* commit = snapshots->add_subcommand(
      "commit", "Commit active snapshot KEY as NAME (KEY is gone afterwards); print NAME");
  commit->add_option("NAME", commit_opts->name, "the committed snapshot's name")->required();
  commit->add_option("KEY", commit_opts->key, "the active snapshot to commit")->required();
  commit
      ->add_option("-l,--label", commit_opts->labels,
                   "KEY=VALUE label of the committed snapshot (the active one's are not "
                   "kept); repeatable")
      ->check(check_label);
  commit->add_option("--parent", commit_opts->parent,
                     "commit onto this parent (snapshotters with the rebase capability)");
  commit->add_flag("--json", commit_opts->json, "print the committed snapshot's info as JSON");
  commit->footer("Examples:\n"
                 "  strata snapshots commit base-layer base\n"
                 "  strata snapshots commit --label team=fs layer2 work");
  commit->callback(run([ctx, commit_opts] { return run_commit(*ctx, *commit_opts); }));

  auto mounts_key = std::make_shared<std::string>();
  auto mounts_json = std::make_shared<bool>(false);
  auto* mounts = snapshots->add_subcommand(
      "mounts", "Print the mounts of an active or view snapshot (nothing is mounted)");
  mounts->add_option("KEY", *mounts_key, "the snapshot's key")->required();
  mounts->add_flag("--json", *mounts_json, "print the mounts as JSON");
  mounts->callback(
      run([ctx, mounts_key, mounts_json] { return run_mounts(*ctx, *mounts_key, *mounts_json); }));

  auto rm_keys = std::make_shared<std::vector<std::string>>();
  auto* rm = snapshots->add_subcommand(
      "rm", "Remove snapshots in the order given; exit 1 when any could not be removed");
  rm->alias("remove");
  rm->add_option("KEY", *rm_keys, "keys or names of the snapshots to remove")->required();
  rm->footer("Examples:\n"
             "  strata snapshots rm work\n"
             "  strata snapshots rm child base-layer   # a parent after its children");
  rm->callback(run([ctx, rm_keys] { return run_rm(*ctx, *rm_keys); }));

  auto stat_key = std::make_shared<std::string>();
  auto stat_json = std::make_shared<bool>(false);
  auto* stat = snapshots->add_subcommand("stat", "Show one snapshot: kind, parent, times, labels");
  stat->alias("info");
  stat->add_option("KEY", *stat_key, "the snapshot's key or name")->required();
  stat->add_flag("--json", *stat_json, "print the info as JSON");
  stat->callback(run([ctx, stat_key, stat_json] { return run_stat(*ctx, *stat_key, *stat_json); }));

  auto ls_opts = std::make_shared<LsOptions>();
  auto* ls = snapshots->add_subcommand("ls", "List snapshots: key, parent, kind, age, labels");
  ls->alias("list");
  ls->add_option("-f,--filter", ls_opts->filters,
                 "kind==active|view|committed, name==N, parent==P, labels.KEY==VALUE or "
                 "labels.KEY (also !=, ~= regex); comma-separated terms all hold; a snapshot is "
                 "shown when any --filter matches");
  auto* ls_json =
      ls->add_flag("--json", ls_opts->json, "the snapshots' info as stratad returned it");
  ls->add_flag("-q,--quiet", ls_opts->quiet, "only the keys")->excludes(ls_json);
  ls->footer("Examples:\n"
             "  strata snapshots ls\n"
             "  strata snapshots ls -q --filter kind==committed\n"
             "  strata snapshots ls --filter 'labels.team==fs,kind==active' --json");
  ls->callback(run([ctx, ls_opts] { return run_ls(*ctx, *ls_opts); }));

  auto usage_key = std::make_shared<std::string>();
  auto usage_json = std::make_shared<bool>(false);
  auto* usage = snapshots->add_subcommand(
      "usage", "Disk usage of a snapshot itself (not its parents), or of every snapshot");
  usage->add_option("KEY", *usage_key, "the snapshot (default: all)");
  usage->add_flag("--json", *usage_json, "print the usage as JSON");
  usage->footer("Examples:\n"
                "  strata snapshots usage\n"
                "  strata snapshots usage --json work");
  usage->callback(
      run([ctx, usage_key, usage_json] { return run_usage(*ctx, *usage_key, *usage_json); }));

  auto label_opts = std::make_shared<LabelOptions>();
  auto* label = snapshots->add_subcommand("label", "Set or remove labels of a snapshot");
  label->add_option("KEY", label_opts->key, "the snapshot's key or name")->required();
  label->add_option("LABEL", label_opts->labels, "KEY=VALUE to set, KEY= to remove")
      ->required()
      ->check(check_label);
  label->add_flag("--json", label_opts->json, "print the snapshot's info as JSON");
  label->footer("Examples:\n"
                "  strata snapshots label base-layer team=fs\n"
                "  strata snapshots label base-layer team=");
  label->callback(run([ctx, label_opts] { return run_label(*ctx, *label_opts); }));

  auto* tree = snapshots->add_subcommand("tree", "Show the parent/child hierarchy of snapshots");
  tree->callback(run([ctx] { return run_tree(*ctx); }));

  auto* cleanup = snapshots->add_subcommand(
      "cleanup", "Remove data left behind by interrupted removals or crashes");
  cleanup->callback(run([ctx] { return run_cleanup(*ctx); }));

  auto mount_key = std::make_shared<std::string>();
  auto mount_target = std::make_shared<std::string>();
  auto* mnt = snapshots->add_subcommand(
      "mount", "Mount an active or view snapshot on a directory (needs CAP_SYS_ADMIN)");
  mnt->add_option("KEY", *mount_key, "the snapshot's key")->required();
  mnt->add_option("TARGET", *mount_target, "an existing directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  mnt->footer("The mount is made by this command, in its mount namespace, from the mounts\n"
              "stratad reports for KEY (see `strata snapshots mounts KEY`).\n\n"
              "Examples:\n"
              "  strata snapshots mount work /mnt/work\n"
              "  strata snapshots unmount /mnt/work");
  mnt->callback(
      run([ctx, mount_key, mount_target] { return run_mount(*ctx, *mount_key, *mount_target); }));

  auto unmount_target = std::make_shared<std::string>();
  auto lazy = std::make_shared<bool>(false);
  auto* unmount = snapshots->add_subcommand(
      "unmount", "Unmount whatever is mounted on TARGET (stacked mounts too)");
  unmount->alias("umount");
  unmount->add_option("TARGET", *unmount_target, "the mount point")->required();
  unmount->add_flag("--lazy", *lazy, "detach now, clean up once no longer busy (MNT_DETACH)");
  unmount->callback(run([unmount_target, lazy] { return run_unmount(*unmount_target, *lazy); }));
}

} // namespace strata::cli
