// `strata plugin inspect FILE.so`: the ABI handshake stratad would do, run on one file here, so
// a vendor or an operator learns why a plugin would be refused without restarting stratad.

#include "commands.hpp"
#include "json_output.hpp"
#include "loader/plugin_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

namespace strata::cli {
namespace {

struct InspectOptions {
  std::string file;
  bool json = false;
};

std::string list_or_dash(const std::vector<std::string>& items) {
  return items.empty() ? std::string("-") : fmt::format("{}", fmt::join(items, ", "));
}

json::value descriptor_json(const host::DescriptorInfo& d) {
  return json::object{{"abi_major", d.abi_major},
                      {"abi_minor", d.abi_minor},
                      {"struct_size", d.struct_size},
                      {"toolchain", d.toolchain},
                      {"type", d.type},
                      {"id", d.id},
                      {"version", d.version},
                      {"requires", json::value_from(d.requires_list)}};
}

json::value error_json(const std::optional<Error>& e) {
  if (!e)
    return nullptr;
  return json::object{{"code", to_string(e->code())}, {"message", e->message()}};
}

void print_human(const host::FileInspection& fi, const host::HostAbi& host,
                 const std::optional<host::DescriptorInfo>& descriptor,
                 const std::optional<Error>& failure) {
  auto line = [](std::string_view label, std::string_view value) {
    std::cout << fmt::format("{:<20}{}\n", std::string(label) + ":", value);
  };
  line("File", fi.path);
  line("Entry symbols", list_or_dash(fi.entry_symbols));
  line("Toolchain symbols", list_or_dash(fi.toolchain_symbols));
  line("Host wants", fmt::format("ABI {}.{}, entry {}, toolchain {}", host.abi_major,
                                 host.abi_minor, host.entry_symbol, host.toolchain_tag));
  if (descriptor) {
    line("ABI", fmt::format("{}.{} (descriptor {} bytes)", descriptor->abi_major,
                            descriptor->abi_minor, descriptor->struct_size));
    line("Toolchain", descriptor->toolchain);
    line("Type", descriptor->type);
    line("ID", descriptor->id);
    line("Version", descriptor->version.empty() ? "-" : descriptor->version);
    line("Requires", list_or_dash(descriptor->requires_list));
  }
  line("Verdict", failure ? "refused (" + std::string(to_string(failure->code())) + ")"
                          : std::string("loadable"));
}

int run_inspect(const InspectOptions& options) {
  const auto host = host::HostAbi::current();
  // dlopen searches the library path for a name without a slash: the file we checked must be
  // the file we load, so the path is made absolute first.
  std::error_code ec;
  auto absolute = std::filesystem::absolute(options.file, ec);
  const std::string path = ec ? options.file : absolute.lexically_normal().string();
  auto fi = host::inspect(path);
  std::optional<host::DescriptorInfo> descriptor;
  std::optional<Error> failure = fi.refusal;
  // Loading runs only the entry (the loader's contract), and only for a file that passed the
  // checks that need no loading: the same order stratad follows.
  if (!failure) {
    auto opened = host::open(path);
    if (opened)
      descriptor = opened->descriptor;
    else
      failure = opened.error();
  }

  if (options.json) {
    print_json(std::cout,
               json::object{{"file", fi.path},
                            {"entry_symbols", json::value_from(fi.entry_symbols)},
                            {"toolchain_symbols", json::value_from(fi.toolchain_symbols)},
                            {"host", json::object{{"abi_major", host.abi_major},
                                                  {"abi_minor", host.abi_minor},
                                                  {"entry_symbol", host.entry_symbol},
                                                  {"toolchain_tag", host.toolchain_tag},
                                                  {"toolchain_symbol", host.toolchain_symbol}}},
                            {"descriptor", descriptor ? descriptor_json(*descriptor) : nullptr},
                            {"loadable", !failure},
                            {"error", error_json(failure)}});
  } else {
    print_human(fi, host, descriptor, failure);
  }
  return failure ? report(*failure) : exit_ok;
}

} // namespace

void add_inspect_command(CLI::App& plugins, Outcome& outcome) {
  auto options = std::make_shared<InspectOptions>();
  auto* inspect = plugins.add_subcommand(
      "inspect", "Check a plugin file as stratad would and print what it declares");
  inspect->add_option("FILE", options->file, "The plugin shared object")->required();
  inspect->add_flag("--json", options->json, "Print the inspection as JSON");
  inspect->footer("Checks ownership and mode, the ABI entry symbol, the toolchain marker and the\n"
                  "descriptor, in stratad's order. Runs only the file's ABI entry, never its\n"
                  "plugin code, and needs no running stratad. Exit code 1 when stratad would\n"
                  "refuse the file; the reason and the fix are on stderr.\n\n"
                  "Examples:\n"
                  "  strata plugin inspect /usr/local/lib/strata/plugins/vendor.so\n"
                  "  strata plugin inspect --json ./build/my-snapshotter.so");
  inspect->callback([&outcome, options] { outcome.exit_code = run_inspect(*options); });
}

} // namespace strata::cli
