// `strata image import|ls|inspect|rm`: image records of stratad's images service.

#include "client.hpp"
#include "commands.hpp"
#include "content_format.hpp"
#include "json_output.hpp"
#include "table.hpp"

#include <strata/plugin/images.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>

namespace strata::cli {
namespace {

std::string image_path(std::string_view name) {
  return "/v1/images/" + encode_segment(name);
}

// NAME PLATFORM DIGEST SIZE AGE: SIZE is what the content store holds for the platform (config
// and compressed layers), the figure a user weighs before importing more.
std::string images_table(const std::vector<Image>& images, Timestamp now) {
  Table table({"NAME", "PLATFORM", "DIGEST", "SIZE", "AGE", "LABELS"});
  for (const auto& i : images) {
    std::int64_t size = i.resolved.manifest.size + i.resolved.config.size;
    for (const auto& l : i.resolved.layers)
      size += l.size;
    table.add_row({i.name, i.resolved.platform.to_string(), i.target.digest, human_size(size),
                   human_age(i.updated, now), labels_cell(i.labels)});
  }
  return table.render();
}

// ---- import ----

struct ImportArgs {
  std::string path;
  std::string name;
  std::string platform;
  std::vector<std::string> labels;
  bool json = false;
};

int run_import(const Globals& globals, const ImportArgs& a) {
  // stratad reads the path itself, from its own working directory: send it absolute.
  std::error_code ec;
  auto abs = std::filesystem::absolute(a.path, ec);
  if (ec)
    return report(
        invalid_argument(fmt::format("cannot make {} absolute: {}", a.path, ec.message())));
  json::object body{{"path", abs.lexically_normal().string()}};
  if (!a.name.empty())
    body["name"] = a.name;
  if (!a.platform.empty())
    body["platform"] = a.platform;
  if (!a.labels.empty()) {
    json::object labels;
    for (const auto& text : a.labels) {
      auto l = parse_label_arg(text); // validated while parsing the command line
      labels[l->key] = l->value;
    }
    body["labels"] = std::move(labels);
  }
  auto answer = Client(globals.address).post("/v1/images/import", body);
  if (!answer)
    return report(answer.error().wrap("import of " + a.path));
  auto images = from_json<std::vector<Image>>(*answer, "POST /v1/images/import: the images");
  if (!images)
    return report(internal_error(images.error().message()));
  if (a.json)
    print_json(std::cout, *answer);
  else
    for (const auto& i : *images)
      std::cout << fmt::format("imported {} ({} {}, {} layers)\n", i.name,
                               i.resolved.platform.to_string(), i.resolved.manifest.digest,
                               i.resolved.layers.size());
  return exit_ok;
}

// ---- ls ----

struct LsArgs {
  bool json = false;
  bool quiet = false;
  std::vector<std::string> filters;
};

int run_ls(const Globals& globals, const LsArgs& a) {
  std::string query;
  for (const auto& f : a.filters)
    query += (query.empty() ? "?" : "&") + std::string("filter=") + encode_segment(f);
  auto listing = Client(globals.address).get("/v1/images" + query);
  if (!listing)
    return report(listing.error());
  auto images = from_json<std::vector<Image>>(*listing, "GET /v1/images: the image list");
  if (!images)
    return report(internal_error(images.error().message()));
  if (a.json)
    print_json(std::cout, *listing);
  else if (a.quiet)
    for (const auto& i : *images)
      std::cout << i.name << '\n';
  else
    std::cout << images_table(*images, std::chrono::system_clock::now());
  return exit_ok;
}

// ---- inspect ----

int run_inspect(const Globals& globals, const std::string& name) {
  auto answer = Client(globals.address).get(image_path(name));
  if (!answer)
    return report(answer.error());
  print_json(std::cout, *answer);
  return exit_ok;
}

// ---- rm ----

int run_rm(const Globals& globals, const std::vector<std::string>& names) {
  Client client(globals.address);
  return remove_each(names, [&client](const std::string& n) -> Status {
    auto r = client.request(http::verb::delete_, image_path(n));
    return r ? Status{} : Status(std::move(r).error());
  });
}

} // namespace

void add_image_command(CLI::App& app, const Globals& globals, Outcome& outcome) {
  auto* image = app.add_subcommand("image", "Images of stratad's images service: import, ls, "
                                            "inspect, rm, unpack, mount, unmount");
  image->alias("images");
  image->require_subcommand(1);
  image->footer("Examples:\n"
                "  strata image import ./alpine-oci/ --name docker.io/library/alpine:3.19\n"
                "  strata image import alpine.tar --platform linux/arm64/v8\n"
                "  strata image ls\n"
                "  strata image unpack docker.io/library/alpine:3.19 --snapshotter overlayfs\n"
                "  strata image mount docker.io/library/alpine:3.19 /mnt/alpine\n"
                "  strata image rm docker.io/library/alpine:3.19");

  auto im = std::make_shared<ImportArgs>();
  auto* import = image->add_subcommand(
      "import", "Import an OCI image layout (a directory or a tar of one) into the content "
                "store and record its images");
  import
      ->add_option("PATH", im->path,
                   "the layout directory or tar; stratad reads it, so it must be on stratad's "
                   "filesystem and readable by it")
      ->required();
  import->add_option("--name", im->name,
                     "the image's name (default: the names annotated in the layout's "
                     "index.json)");
  import->add_option("--platform", im->platform,
                     "os/arch[/variant] to select in a multi-platform image (default: "
                     "stratad's host platform)");
  import->add_option("-l,--label", im->labels, "KEY=VALUE label of the image; repeatable")
      ->check(check_label_arg);
  import->add_flag("--json", im->json, "print the imported images as JSON");
  import->footer("Examples:\n"
                 "  skopeo copy docker://alpine:3.19 oci:alpine:3.19 && strata image import "
                 "alpine\n"
                 "  strata image import image.tar --name example.com/app:1 --platform "
                 "linux/amd64");
  import->callback([&globals, &outcome, im] { outcome.exit_code = run_import(globals, *im);
});

auto ls_args = std::make_shared<LsArgs>();
auto* ls = image->add_subcommand("ls", "List images: name, platform, digest, size, age");
ls->alias("list");
auto* as_json = ls->add_flag("--json", ls_args->json, "the images as stratad returned them");
ls->add_flag("-q,--quiet", ls_args->quiet, "only the names")->excludes(as_json);
ls->add_option("FILTER", ls_args->filters,
               "name==NAME, labels.KEY==VALUE or labels.KEY (also !=, ~= regex); comma-separated "
               "terms all hold; an image is shown when any matches")
    ->type_name("");
ls->callback([&globals, &outcome, ls_args] { outcome.exit_code = run_ls(globals, *ls_args); });

auto inspect_name = std::make_shared<std::string>();
auto* inspect = image->add_subcommand("inspect", "Print an image record as JSON");
inspect->add_option("NAME", *inspect_name, "the image's name")->required();
inspect->callback([&globals, &outcome, inspect_name] {
  outcome.exit_code = run_inspect(globals, *inspect_name);
});

auto rm_names = std::make_shared<std::vector<std::string>>();
auto* rm = image->add_subcommand(
    "rm", "Remove image records (their blobs stay in the content store); exit 1 when any "
          "could not be removed");
rm->alias("remove");
rm->add_option("NAME", *rm_names, "names of the images to remove")->required();
rm->callback([&globals, &outcome, rm_names] { outcome.exit_code = run_rm(globals, *rm_names); });

add_image_unpack_commands(*image, globals, outcome);
} // namespace strata::cli

} // namespace strata::cli
