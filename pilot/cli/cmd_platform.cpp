#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "mjf/batch.hpp"
#include "platform/archs.hpp"
#include "platform/compiler.hpp"
#include "platform/os_id.hpp"
#include "platform/probe.hpp"
#include "platform/tags.hpp"
#include "subcommand_table.hpp"

extern char** environ;

namespace pilot::cli {
namespace {

namespace pp = pilot::platform;

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

struct PlatformArgs {
  bool json = false;
  bool flags = false;
  bool allow_containers = false;
  bool no_containers = false;
  bool no_cache = false;
  std::string root = "/";
  std::string machine;
  std::string platforms_list;
  std::string workdir = ".";
  std::vector<std::string> values;  // positional arguments of the chosen action
  std::string map_file;
  std::string aliases_file;
  std::string fallback;
  bool minimum = false;
};

pp::ProbeOptions probe_options(const PlatformArgs& a) {
  std::error_code ec;
  if (!std::filesystem::is_directory(a.root, ec))
    throw Error("--root " + a.root + " is not a directory");
  pp::ProbeOptions o;
  o.root = a.root;
  if (!a.machine.empty()) o.machine = a.machine;
  if (auto cc = env("CC"); cc && !cc->empty()) o.cc = *cc;
  if (!a.no_cache)
    o.compiler_cache = pp::compiler_cache_dir(std::getenv("PILOT_CACHE_DIR"),
                                              std::getenv("XDG_CACHE_HOME"), std::getenv("HOME"));
  o.force_host_os = env("force_host_os");
  if (!a.platforms_list.empty()) o.platforms_list = a.platforms_list;
  o.allow_containers = a.allow_containers;
  o.containers = !a.no_containers;
  o.workdir = a.workdir;
  if (auto p = mjf::processors_from_environment(mjf::environment_of(environ)))
    o.batch_cpus = static_cast<int>(p->count);
  return o;
}

void print_lines(const std::vector<std::string>& lines) {
  for (const auto& l : lines) std::cout << l << '\n';
}

nlohmann::ordered_json read_json_file(const std::string& path) {
  auto text = read_file(path, 16 << 20);
  if (!text) throw Error(path + " does not exist");
  auto j = nlohmann::ordered_json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(path + " is not a JSON object");
  return j;
}

// {"name": ["alias", ...], ...}: the form of OS_ALIASES and OS_COMPATIBILITY.
std::vector<std::pair<std::string, std::vector<std::string>>> read_name_lists(
    const std::string& path) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  auto doc = read_json_file(path);  // kept alive: items() only refers to it
  for (const auto& [key, value] : doc.items()) {
    if (!value.is_array()) throw Error(path + ": the value of '" + key + "' is not a list");
    std::vector<std::string> names;
    for (const auto& v : value) {
      if (!v.is_string()) throw Error(path + ": the list of '" + key + "' holds a non-string");
      names.push_back(v.get<std::string>());
    }
    out.emplace_back(key, std::move(names));
  }
  return out;
}

int yes_no(bool v) {
  std::cout << (v ? "yes" : "no") << '\n';
  return v ? 0 : 1;
}

// The options of `pilot platform` itself, which probes the node.
void add_probe_options(CLI::App* sub, PlatformArgs& a) {
  sub->add_flag("--json", a.json, "One JSON object with every probed value");
  sub->add_flag("--flags", a.flags, "Also list the CPU flags (text format)");
  sub->add_option("--platforms-list", a.platforms_list,
                  "Binary tags to choose from (CouchDB view JSON); default: CVMFS, else embedded");
  sub->add_flag("--allow-containers", a.allow_containers,
                "dirac_platform <arch>-any when apptainer/singularity can run LHCb's images");
  sub->add_flag("--no-containers", a.no_containers, "Skip the container runtime check");
  sub->add_flag("--no-cache", a.no_cache,
                "Always run $CC -v (default: remember the id of an unchanged compiler binary in "
                "$PILOT_CACHE_DIR, $XDG_CACHE_HOME/pilot or ~/.cache/pilot)");
  sub->add_option("--root", a.root, "Read the node's files under DIR instead of /");
  sub->add_option("--machine", a.machine, "Machine name instead of uname -m");
  sub->add_option("--workdir", a.workdir, "Directory whose free disk space is reported");
}

int run_probe(const PlatformArgs& a) {
  auto info = pp::probe(probe_options(a));
  for (const auto& w : info.warnings) std::cerr << "pilot platform: warning: " << w << '\n';
  if (a.json) {
    std::cout << pp::to_json(info).dump(2, ' ', false,
                                        nlohmann::ordered_json::error_handler_t::replace)
              << '\n';
  } else {
    std::cout << pp::render_text(info, a.flags);
  }
  return 0;
}

void requires_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("TAG", a.values, "Binary tags")->required();
}

int run_requires(const PlatformArgs& a) {
  std::vector<std::string> out;
  for (const auto& t : a.values) out.push_back(pp::requires_platform(t));
  print_lines(out);
  return 0;
}

void can_run_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("CURRENT REQUIRED", a.values, "Two platforms (ARCH-OS)")->required()->expected(2);
}

int run_can_run(const PlatformArgs& a) {
  bool ok = false;
  try {
    ok = pp::can_run(a.values[0], a.values[1]);
  } catch (const Error& e) {
    std::cerr << "pilot platform can-run: error: " << e.what() << '\n';
    return kExitUsage;  // distinct from "no"
  }
  return yes_no(ok);
}

void compatible_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("PLATFORM", a.values, "A platform (ARCH-OS)")->required()->expected(1);
}

int run_compatible(const PlatformArgs& a) {
  print_lines(pp::compatible_platforms(a.values[0]));
  return 0;
}

void lowest_common_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("TAG", a.values, "Binary tags, or comma-separated alternatives")->required();
}

std::vector<std::string> split_alternatives(const std::string& v) {
  std::vector<std::string> alternatives;
  std::size_t b = 0;
  for (;;) {
    auto e = v.find(',', b);
    alternatives.push_back(v.substr(b, e == std::string::npos ? e : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return alternatives;
}

int run_lowest_common(const PlatformArgs& a) {
  std::vector<std::vector<std::string>> positions;
  for (const auto& v : a.values) positions.push_back(split_alternatives(v));
  auto r = pp::lowest_common_requirement(positions);
  if (!r) {
    std::cerr << "pilot platform lowest-common: no platform runs all the given tags\n";
    return 1;
  }
  std::cout << *r << '\n';
  return 0;
}

void host_binary_tag_options(CLI::App* s, PlatformArgs& a) {
  s->add_flag("--minimum", a.minimum, "Use the baseline architecture");
}

int run_host_binary_tag(const PlatformArgs& a) {
  auto ids = pp::probe_host_ids(probe_options(a));
  for (const auto& w : ids.warnings) std::cerr << "pilot platform: warning: " << w << '\n';
  std::cout << (a.minimum ? ids.host_binary_tag_minimum() : ids.host_binary_tag()) << '\n';
  return 0;
}

void check_compatibility_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("OS REQUIRED_OS", a.values, "Two OS ids")->required()->expected(2);
  s->add_option("--map", a.map_file, "JSON {os: [compatible os, \"!os\", ...]} instead of LHCb's");
}

int run_check_compatibility(const PlatformArgs& a) {
  pp::CompatibilityMap map;
  if (a.map_file.empty()) {
    map = pp::os_compatibility();
  } else {
    for (auto& [k, v] : read_name_lists(a.map_file)) map[k] = std::move(v);
  }
  return yes_no(pp::check_compatibility(a.values[0], a.values[1], map));
}

void normal_name_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("NAME", a.values, "An OS id")->required()->expected(1);
  s->add_option("--aliases", a.aliases_file, "JSON {name: [alias, ...]} instead of LHCb's");
  s->add_option("--default", a.fallback, "Printed when NAME is neither a name nor an alias");
}

int run_normal_name(const PlatformArgs& a) {
  auto aliases = a.aliases_file.empty() ? pp::os_aliases() : read_name_lists(a.aliases_file);
  std::cout << pp::normal_name(a.values[0], aliases, a.fallback) << '\n';
  return 0;
}

// --format is stored in `fallback`, which parse-os does not otherwise use.
void parse_os_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("FILE", a.values, "An os-release, redhat-release or lsb-release file")
      ->required()
      ->expected(1);
  s->add_option("--format", a.fallback, "How to read FILE")
      ->check(CLI::IsMember({"os-release", "redhat-release", "lsb-release"}))
      ->required();
}

int run_parse_os(const PlatformArgs& a) {
  auto text = read_file(a.values[0], 1 << 20);
  if (!text) throw Error(a.values[0] + " does not exist");
  auto r = a.fallback == "os-release"       ? pp::parse_os_release(*text)
           : a.fallback == "redhat-release" ? pp::parse_system_release(*text)
                                            : pp::parse_lsb_release(*text);
  nlohmann::ordered_json j{{"name", r.name}, {"version", r.version}, {"os_id", r.id()}};
  std::cout << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  return 0;
}

void supported_archs_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("FLAG", a.values, "CPU flags (include the machine name)");
}

int run_supported_archs(const PlatformArgs& a) {
  print_lines(pp::supported_archs(pp::FlagSet(a.values.begin(), a.values.end())));
  return 0;
}

void compatible_archs_options(CLI::App* s, PlatformArgs& a) {
  s->add_option("FLAG", a.values, "CPU flags");
}

int run_compatible_archs(const PlatformArgs& a) {
  print_lines(pp::compatible_archs(pp::FlagSet(a.values.begin(), a.values.end())));
  return 0;
}

// The subcommands that apply LbPlatformUtils' rules to given values instead of probing.
constexpr SubcommandRow<PlatformArgs> kActions[] = {
    {"requires", "Print the platform each binary tag requires", requires_options, run_requires},
    {"can-run", "yes (exit 0) if platform CURRENT runs binaries needing REQUIRED, else no (exit 1)",
     can_run_options, run_can_run},
    {"compatible", "Print the platforms that satisfy PLATFORM, most capable first",
     compatible_options, run_compatible},
    {"lowest-common",
     "Print the least demanding platform that runs all binary tags (A,B: alternatives); exit 1 "
     "if there is none",
     lowest_common_options, run_lowest_common},
    {"host-binary-tag", "Print the host binary tag (lb-host-binary-tag)", host_binary_tag_options,
     run_host_binary_tag},
    {"check-compatibility",
     "yes (exit 0) if OS runs binaries built for REQUIRED_OS (OS_COMPATIBILITY), else no",
     check_compatibility_options, run_check_compatibility},
    {"normal-name", "Print the reference name of an OS id (OS_ALIASES), or itself / --default",
     normal_name_options, run_normal_name},
    {"parse-os", "Print (JSON) the name, version and OS id LbPlatformUtils reads from FILE",
     parse_os_options, run_parse_os},
    {"supported-archs", "Print the architectures a CPU with these flags runs, most capable first",
     supported_archs_options, run_supported_archs},
    {"compatible-archs", "Print the architectures that have all these flags, most capable first",
     compatible_archs_options, run_compatible_archs},
};

// The probe options given after an action's name still reach `pilot platform`.
void pass_probe_options_up(CLI::App* action, PlatformArgs&) {
  action->fallthrough();
}

}  // namespace

void add_platform_command(Cli& cli) {
  auto* sub = cli.app.add_subcommand(
      "platform",
      "Probe this node as LbPlatformUtils 4.5.1 does (lb-describe-platform text or --json), or "
      "apply its rules to given tags and platforms");
  sub->require_subcommand(0, 1);
  auto a = std::make_shared<PlatformArgs>();
  add_probe_options(sub, *a);
  add_subcommand_rows(cli, sub, kActions, a, pass_probe_options_up);
  // Without an action, `pilot platform` probes the node.
  sub->callback([&cli, sub, a] {
    if (!sub->get_subcommands().empty()) return;
    cli.run = [a] { return run_probe(*a); };
  });
}

}  // namespace pilot::cli
