// Runs the cases of platform-dev-cases.json (expected LbPlatformUtils 4.5.1 results) through the
// `pilot platform` command line: `platform_case_runner FIXTURE [CASE_ID...]` (no id: every case).
// Each "host" case becomes a node tree in a temporary root, read with --root/--machine, with $CC
// a script printing the case's `cc -v` text. Prints every mismatch; exit 0 only if all pass.

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "run_pilot.hpp"

namespace {

using json = nlohmann::ordered_json;
using pilot::TempDir;
using pilot::test::PilotRun;
using pilot::test::run_pilot;
namespace fs = std::filesystem;

struct Check {
  std::string case_id;
  int failures = 0;

  void fail(const std::string& what) {
    std::cerr << "FAIL " << case_id << ": " << what << '\n';
    ++failures;
  }
  void equal(const std::string& what, const json& got, const json& want) {
    if (got != want) fail(what + ": got " + got.dump() + ", expected " + want.dump());
  }
};

void write(const fs::path& path, const std::string& content, int mode = 0644) {
  fs::create_directories(path.parent_path());
  pilot::write_file_atomic(path, content, mode);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

PilotRun run(Check& c, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env = {}) {
  auto r = run_pilot(args, env);
  if (r.exit_code != 0 && r.exit_code != 1) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    c.fail("`pilot" + cmd + "` exited " + std::to_string(r.exit_code) + ": " + r.err);
  }
  return r;
}

json run_json(Check& c, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env) {
  auto r = run(c, args, env);
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) {
    c.fail("not JSON: " + r.out + r.err);
    return json::object();
  }
  return j;
}

// A node tree for a "host" case, and the environment that makes `pilot` see it.
struct Node {
  TempDir dir{"platform-case"};
  fs::path root = dir.path() / "root";
  std::map<std::string, std::string> env;
  std::string machine;
};

void make_node(Node& n, const json& in) {
  fs::create_directories(n.root);
  n.machine = in.value("machine", "x86_64");
  n.env["PILOT_CACHE_DIR"] = "";  // hermetic: nothing remembered between cases
  auto file = [&](const char* key, const char* path) {
    if (in.contains(key) && in[key].is_string()) write(n.root / path, in[key].get<std::string>());
  };
  file("cpuinfo", "proc/cpuinfo");
  file("os_release", "etc/os-release");
  file("redhat_release", "etc/redhat-release");
  file("lsb_release", "etc/lsb-release");
  if (in.contains("cc_v_output") && in["cc_v_output"].is_string()) {
    write(n.dir.path() / "cc-v.txt", in["cc_v_output"].get<std::string>());
    write(n.dir.path() / "bin/cc",
          "#!/bin/sh\ncat '" + (n.dir.path() / "cc-v.txt").string() + "'\n", 0755);
    n.env["CC"] = (n.dir.path() / "bin/cc").string();
  } else {
    n.env["CC"] = (n.dir.path() / "no-compiler").string();  // absent: compiler "unknown"
  }
  if (in.contains("force_host_os") && in["force_host_os"].is_string())
    n.env["force_host_os"] = in["force_host_os"].get<std::string>();
}

std::vector<std::string> node_args(const Node& n, std::vector<std::string> extra) {
  std::vector<std::string> a{"platform", "--root", n.root.string(), "--machine", n.machine};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

void host_case(Check& c, const json& in, const json& want) {
  Node n;
  make_node(n, in);
  auto j = run_json(c, node_args(n, {"--json"}), n.env);
  // Fixture name -> JSON key of `pilot platform --json`.
  static const std::vector<std::pair<std::string, std::string>> kKeys = {
      {"supported_archs", "supported_archs"},
      {"architecture", "arch"},
      {"architecture_minimum", "arch_minimum"},
      {"x86_64_level_derived", "x86_64_level_derived"},
      {"os_id_raw", "os_id"},
      {"os_id", "os_id_normalised"},
      {"dirac_platform", "dirac_platform"},
      {"host_os", "host_os"},
      {"host_os_minimum", "host_os_minimum"},
      {"compiler_id", "compiler_id"},
      {"host_binary_tag", "host_binary_tag"},
      {"host_binary_tag_minimum", "host_binary_tag_minimum"},
      {"compatible_binary_tags", "compatible_binary_tags"}};
  std::set<std::string> known = {"dirac_platform_allow_containers_if_container_usable", "can_run"};
  for (const auto& [fixture, key] : kKeys) {
    known.insert(fixture);
    if (want.contains(fixture))
      c.equal(fixture + " (--json " + key + ")", j.value(key, json()), want[fixture]);
  }
  for (const auto& [k, v] : want.items()) {
    if (known.count(k)) continue;
    if (j.contains(k)) {
      c.equal(k + " (--json " + k + ")", j[k], v);  // a value reported under its own name
    } else {
      c.fail("expected value '" + k + "' is not checked by this runner");
    }
  }

  // The lb-describe-platform text carries the same values.
  auto text = run(c, node_args(n, {}), n.env).out;
  auto lines = lines_of(text);
  std::vector<std::string> want_lines = {
      "LbPlatformUtils version: 4.5.1",
      "dirac_platform: " + want.value("dirac_platform", j.value("dirac_platform", "")),
      "host_os: " + want.value("host_os", j.value("host_os", "")),
      "host_binary_tag: " + want.value("host_binary_tag", j.value("host_binary_tag", "")),
      "os_id: " + want.value("os_id_raw", j.value("os_id", "")),
      "arch: " + want.value("architecture", j.value("arch", ""))};
  for (std::size_t i = 0; i < want_lines.size(); ++i)
    c.equal("text line " + std::to_string(i + 1), i < lines.size() ? lines[i] : "", want_lines[i]);
  if (want.contains("compatible_binary_tags")) {
    std::vector<std::string> tags;
    bool in_list = false;
    for (const auto& l : lines) {
      if (l.starts_with("compatible_binary_tags")) {
        in_list = true;
        continue;
      }
      if (in_list && l.starts_with("  - ")) {
        tags.push_back(l.substr(4));
      } else if (in_list) {
        break;
      }
    }
    c.equal("text compatible_binary_tags", tags, want["compatible_binary_tags"]);
  }

  // lb-host-binary-tag
  if (want.contains("host_binary_tag"))
    c.equal("host-binary-tag", run(c, node_args(n, {"host-binary-tag"}), n.env).out,
            want["host_binary_tag"].get<std::string>() + "\n");
  if (want.contains("host_binary_tag_minimum"))
    c.equal("host-binary-tag --minimum",
            run(c, node_args(n, {"host-binary-tag", "--minimum"}), n.env).out,
            want["host_binary_tag_minimum"].get<std::string>() + "\n");

  // can_run(dirac_platform, requires(tag)), both through the command line.
  if (want.contains("can_run")) {
    std::vector<std::string> args{"platform", "requires"};
    for (const auto& [tag, _] : want["can_run"].items()) args.push_back(tag);
    auto required = lines_of(run(c, args, {}).out);
    std::size_t i = 0;
    for (const auto& [tag, expected] : want["can_run"].items()) {
      if (i >= required.size()) {
        c.fail("requires printed too few lines");
        break;
      }
      auto r = run(c, {"platform", "can-run", j.value("dirac_platform", ""), required[i++]}, {});
      c.equal("can_run " + tag, r.out == "yes\n" && r.exit_code == 0, expected);
    }
  }

  // With a usable container runtime (apptainer that runs LHCb's image) and --allow-containers.
  if (want.contains("dirac_platform_allow_containers_if_container_usable")) {
    auto image = n.root / "cvmfs/lhcb.cern.ch/containers/os-base/alma9-devel/prod" /
                 (n.machine == "aarch64" ? "arm64v8" : "amd64");
    fs::create_directories(image);
    auto bin = n.dir.path() / "runtime-bin";
    write(bin / "apptainer", "#!/bin/sh\nexec pwd -P\n", 0755);
    auto env = n.env;
    const char* path = std::getenv("PATH");
    env["PATH"] = bin.string() + ":" + (path ? path : "/usr/bin:/bin");
    auto jc = run_json(c, node_args(n, {"--json", "--allow-containers"}), env);
    c.equal("dirac_platform with --allow-containers and a usable apptainer",
            jc.value("dirac_platform", json()),
            want["dirac_platform_allow_containers_if_container_usable"]);
    c.equal("container_technology images",
            jc["container_technology"].contains("apptainer") &&
                jc["container_technology"]["apptainer"].contains(image.string()),
            true);
  }
}

std::string join_alternatives(const json& position) {
  if (position.is_string()) return position.get<std::string>();
  std::string s;
  for (const auto& alt : position) s += (s.empty() ? "" : ",") + alt.get<std::string>();
  return s;
}

void run_case(Check& c, const json& kase) {
  const auto kind = kase.value("kind", "");
  const auto& in = kase["input"];
  const auto& want = kase["expected"];
  if (kind == "host") return host_case(c, in, want);
  if (kind == "requires") {
    auto r = run(c, {"platform", "requires", in["binary_tag"].get<std::string>()});
    return c.equal("requires", r.out, want.get<std::string>() + "\n");
  }
  if (kind == "can_run") {
    auto r = run(c, {"platform", "can-run", in["current"].get<std::string>(),
                     in["required"].get<std::string>()});
    c.equal("can-run output", r.out, want.get<bool>() ? "yes\n" : "no\n");
    return c.equal("can-run exit code", r.exit_code, want.get<bool>() ? 0 : 1);
  }
  if (kind == "compatible_platforms") {
    auto r = run(c, {"platform", "compatible", in["required"].get<std::string>()});
    return c.equal("compatible", lines_of(r.out), want);
  }
  if (kind == "check_compatibility") {
    TempDir d("platform-case");
    std::vector<std::string> args{"platform", "check-compatibility", in["a"].get<std::string>(),
                                  in["b"].get<std::string>()};
    if (in.contains("compatibility_map") && !in["compatibility_map"].is_null()) {
      write(d.path() / "map.json", in["compatibility_map"].dump());
      args.insert(args.end(), {"--map", (d.path() / "map.json").string()});
    }
    auto r = run(c, args);
    c.equal("check-compatibility output", r.out, want.get<bool>() ? "yes\n" : "no\n");
    return c.equal("check-compatibility exit code", r.exit_code, want.get<bool>() ? 0 : 1);
  }
  if (kind == "lowest_common_requirement") {
    std::vector<std::string> args{"platform", "lowest-common"};
    for (const auto& p : in["configs"]) args.push_back(join_alternatives(p));
    auto r = run(c, args);
    if (want.is_null()) {
      c.equal("lowest-common exit code (none)", r.exit_code, 1);
      return c.equal("lowest-common output (none)", r.out, "");
    }
    c.equal("lowest-common exit code", r.exit_code, 0);
    return c.equal("lowest-common", r.out, want.get<std::string>() + "\n");
  }
  if (kind == "get_supported_archs" || kind == "get_compatible_archs") {
    std::vector<std::string> args{
        "platform", kind == "get_supported_archs" ? "supported-archs" : "compatible-archs"};
    for (const auto& f : in[kind == "get_supported_archs" ? "flags" : "target_flags"])
      args.push_back(f.get<std::string>());
    return c.equal(kind, lines_of(run(c, args).out), want);
  }
  if (kind == "normal_name") {
    TempDir d("platform-case");
    std::vector<std::string> args{"platform", "normal-name", in["name"].get<std::string>()};
    if (in.contains("aliases") && !in["aliases"].is_null()) {
      write(d.path() / "aliases.json", in["aliases"].dump());  // nlohmann::json keeps keys sorted
      args.insert(args.end(), {"--aliases", (d.path() / "aliases.json").string()});
    }
    if (in.contains("default") && in["default"].is_string())
      args.insert(args.end(), {"--default", in["default"].get<std::string>()});
    return c.equal("normal-name", run(c, args).out, want.get<std::string>() + "\n");
  }
  if (kind == "parse_os_release" || kind == "parse_system_release" || kind == "parse_lsb_release") {
    static const std::map<std::string, std::pair<std::string, std::string>> kFiles = {
        {"parse_os_release", {"os_release", "os-release"}},
        {"parse_system_release", {"redhat_release", "redhat-release"}},
        {"parse_lsb_release", {"lsb_release", "lsb-release"}}};
    const auto& [key, format] = kFiles.at(kind);
    TempDir d("platform-case");
    write(d.path() / format, in[key].get<std::string>());
    auto j =
        run_json(c, {"platform", "parse-os", (d.path() / format).string(), "--format", format}, {});
    if (want.contains("name")) c.equal("name", j.value("name", json()), want["name"]);
    if (want.contains("version")) c.equal("version", j.value("version", json()), want["version"]);
    c.equal("os_id", j.value("os_id", json()), want["os_id_raw"]);
    // The same file as the node's only release file gives the same raw OS id, unless it is the
    // empty os-release, which LbPlatformUtils skips.
    if (!(format == "os-release" && in[key].get<std::string>().empty())) {
      Node n;
      json host = {{"machine", "x86_64"}, {key, in[key]}};
      make_node(n, host);
      auto hj = run_json(c, node_args(n, {"--json"}), n.env);
      c.equal("os_id of a node with this " + format, hj.value("os_id", json()), want["os_id_raw"]);
    }
    return;
  }
  if (kind == "os_normalisation") {
    Node n;
    make_node(n, {{"machine", "x86_64"}, {"force_host_os", in["raw_os_id"]}});
    auto j = run_json(c, node_args(n, {"--json"}), n.env);
    c.equal("os_id (raw, forced)", j.value("os_id", json()), in["raw_os_id"]);
    c.equal("os_id_normalised", j.value("os_id_normalised", json()), want["os_id"]);
    auto dirac = j.value("dirac_platform", std::string());
    c.equal("dirac_platform OS", dirac.substr(dirac.find('-') + 1), want["dirac_platform_os"]);
    return;
  }
  if (kind == "compiler_id") {
    Node n;
    make_node(n, {{"machine", "x86_64"}, {"cc_v_output", in["cc_v_output"]}});
    auto j = run_json(c, node_args(n, {"--json"}), n.env);
    return c.equal("compiler_id", j.value("compiler_id", json()), want);
  }
  // A node description under another kind name is still a node.
  if (want.is_object() && (in.contains("cpuinfo") || in.contains("os_release") ||
                           in.contains("redhat_release") || in.contains("lsb_release")))
    return host_case(c, in, want);
  c.fail("unknown case kind '" + kind + "' (this runner must learn it)");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: platform_case_runner FIXTURE [CASE_ID...]\n";
    return 2;
  }
  std::ifstream f(argv[1]);
  auto doc = json::parse(f, nullptr, false);
  if (doc.is_discarded() || !doc.contains("cases")) {
    std::cerr << "cannot read cases from " << argv[1] << '\n';
    return 2;
  }
  std::set<std::string> wanted(argv + 2, argv + argc);
  int failed = 0, ran = 0;
  for (const auto& kase : doc["cases"]) {
    auto id = kase.value("id", "");
    if (!wanted.empty() && !wanted.count(id)) continue;
    Check c{id};
    try {
      run_case(c, kase);
    } catch (const std::exception& e) {
      c.fail(std::string("exception: ") + e.what());
    }
    ++ran;
    failed += c.failures > 0;
    std::cout << (c.failures ? "FAIL " : "ok   ") << id << " (" << kase.value("kind", "") << ")\n";
  }
  if (ran == 0 || (!wanted.empty() && static_cast<std::size_t>(ran) != wanted.size())) {
    std::cerr << "no such case in " << argv[1] << '\n';
    return 2;
  }
  std::cout << ran - failed << "/" << ran << " cases pass\n";
  return failed ? 1 : 0;
}
