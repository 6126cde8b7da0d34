#include "platform/probe.hpp"

#include <sys/utsname.h>

#include <future>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "platform/archs.hpp"
#include "platform/compiler.hpp"
#include "platform/platforms_list.hpp"
#include "platform/tags.hpp"

namespace pilot::platform {
namespace {

std::string host_machine() {
  struct utsname u {};
  if (::uname(&u) != 0) return "";
  return u.machine;
}

std::string read_cpuinfo(const std::filesystem::path& root, std::vector<std::string>& warnings) {
  auto path = root / "proc/cpuinfo";
  try {
    if (auto text = read_file(path, 16 << 20)) return *text;
    warnings.push_back(path.string() + " does not exist (no CPU flags: arch is the machine name)");
  } catch (const Error& e) {
    warnings.push_back(std::string(e.what()) + " (no CPU flags: arch is the machine name)");
  }
  return {};
}

// Tags of `list` whose required platform `platform` can run, in list order.
std::vector<std::string> runnable_tags(const std::string& platform,
                                       const std::vector<std::string>& list,
                                       std::vector<std::string>& warnings) {
  std::vector<std::string> out;
  for (const auto& tag : list) {
    try {
      if (can_run(platform, requires_platform(tag))) out.push_back(tag);
    } catch (const Error& e) {
      // A malformed entry of the list must not hide the good ones.
      if (std::find(warnings.begin(), warnings.end(), e.what()) == warnings.end())
        warnings.push_back(e.what());
    }
  }
  return out;
}

// `cc -v` is the slowest step by far; the cache usually knows the answer. It runs on the calling
// thread (deferred to when the id is needed): forking from a second thread while this one
// allocates can deadlock the child under sanitizers, and a pilot must never hang at start-up.
std::future<std::string> start_compiler_id(const ProbeOptions& o) {
  if (!o.compiler_cache)
    return std::async(std::launch::deferred, [cc = o.cc] { return compiler_id(cc); });
  if (auto id = remembered_compiler_id(o.cc, *o.compiler_cache)) {
    std::promise<std::string> known;  // no thread needed
    known.set_value(*id);
    return known.get_future();
  }
  return std::async(std::launch::deferred,
                    [cc = o.cc, dir = *o.compiler_cache] { return cached_compiler_id(cc, dir); });
}

HostIds ids_with_compiler(const ProbeOptions& o, std::future<std::string>& compiler) {
  HostIds h;
  h.machine = o.machine ? *o.machine : host_machine();
  h.cpu = parse_cpuinfo(read_cpuinfo(o.root, h.warnings), h.machine);
  h.supported_archs = supported_archs(h.cpu.flags);
  h.arch = architecture(h.cpu.flags, h.machine, false);
  h.arch_minimum = architecture(h.cpu.flags, h.machine, true);
  h.os = read_os_id(o.root, o.force_host_os);
  h.warnings.insert(h.warnings.end(), h.os.warnings.begin(), h.os.warnings.end());
  h.os_id = normal_name(h.os.raw, os_aliases());
  h.dirac_os = normal_name(h.os.raw, os_aliases(), "unknown");
  h.compiler_id = compiler.get();
  return h;
}

}  // namespace

HostIds probe_host_ids(const ProbeOptions& o) {
  auto compiler = start_compiler_id(o);
  return ids_with_compiler(o, compiler);
}

PlatformInfo probe(const ProbeOptions& o) {
  auto compiler = start_compiler_id(o);
  PlatformInfo info;
  auto list = load_platforms_list(o.root, o.platforms_list);
  info.platforms_list_source = list.source;
  info.warnings.insert(info.warnings.end(), list.warnings.begin(), list.warnings.end());
  info.cpus.affinity = affinity_cpus(o.root);
  info.cpus.cgroup_quota = cgroup_cpu_quota(o.root);
  info.cpus.batch = o.batch_cpus;
  info.memory.total_bytes = mem_total(o.root);
  info.memory.cgroup_limit_bytes = cgroup_memory_limit(o.root);
  std::error_code ec;
  auto workdir = std::filesystem::weakly_canonical(o.workdir, ec);
  info.disk = disk_space(ec ? o.workdir : workdir);
  info.gpus = nvidia_gpus(o.root);
  info.cvmfs = cvmfs_repositories(o.root);

  info.ids = ids_with_compiler(o, compiler);
  const auto& h = info.ids;
  info.warnings.insert(info.warnings.begin(), h.warnings.begin(), h.warnings.end());
  info.glibc = glibc_version(o.root, h.machine);
  if (info.glibc) info.dirac_core_platform = "Linux_" + h.machine + "_glibc-" + *info.glibc;
  info.x86_64_level = x86_64_psabi_level(h.cpu.flags);
  info.x86_64_level_derived = x86_64_level_derived(h.cpu.flags);
  info.cpus.logical = h.cpu.logical;
  info.cpus.physical = h.cpu.physical;
  settle_usable(info.cpus);
  const auto& m = info.memory;
  if (m.total_bytes && m.cgroup_limit_bytes)
    info.memory.usable_bytes = std::min(*m.total_bytes, *m.cgroup_limit_bytes);
  else
    info.memory.usable_bytes = m.total_bytes ? m.total_bytes : m.cgroup_limit_bytes;

  bool container_usable = false;
  if (o.containers) {
    auto images = lhcb_container_images(o.root, h.machine);
    for (const auto& runtime : check_container_runtimes(o.root, images)) {
      if (runtime.usable.empty()) continue;
      container_usable = true;
      ContainerTags ct{runtime.runtime, {}};
      for (const auto& image : runtime.usable) {
        auto platform = h.arch + "-" + normal_name(image.os, os_aliases());
        ct.images.emplace_back(image.path, runnable_tags(platform, list.tags, info.warnings));
      }
      info.container_technology.push_back(std::move(ct));
    }
  }
  info.dirac_platform =
      h.arch + "-" + (o.allow_containers && container_usable ? std::string("any") : h.dirac_os);
  info.compatible_binary_tags = runnable_tags(info.dirac_platform, list.tags, info.warnings);
  return info;
}

std::string render_text(const PlatformInfo& info, bool with_flags) {
  const auto& h = info.ids;
  std::string s;
  auto line = [&](std::string_view key, std::string_view value) {
    s.append(key).append(": ").append(value).append("\n");
  };
  auto items = [&](std::string_view key, const auto& values, std::string_view indent) {
    s.append(indent).append(key).append(values.empty() ? ": []\n" : ":\n");
    for (const auto& v : values) s.append(indent).append("  - ").append(v).append("\n");
  };
  line("LbPlatformUtils version", kLbPlatformUtilsVersion);
  line("dirac_platform", info.dirac_platform);
  line("host_os", h.host_os());
  line("host_binary_tag", h.host_binary_tag());
  line("os_id", h.os.raw);
  line("arch", h.arch);
  line("model", h.cpu.model);
  if (with_flags) items("flags", h.cpu.flags, "");
  items("compatible_binary_tags", info.compatible_binary_tags, "");
  if (info.container_technology.empty()) {
    s += "container_technology: {}\n";
  } else {
    s += "container_technology:\n";
    for (const auto& ct : info.container_technology) {
      s += "  " + ct.runtime + ":\n";
      for (const auto& [path, tags] : ct.images) items(path, tags, "    ");
    }
  }
  return s;
}

nlohmann::ordered_json to_json(const PlatformInfo& info) {
  const auto& h = info.ids;
  auto opt = [](const auto& v) -> nlohmann::ordered_json {
    if (v) return *v;
    return nullptr;
  };
  nlohmann::ordered_json j;
  j["lbplatformutils_version"] = kLbPlatformUtilsVersion;
  j["dirac_platform"] = info.dirac_platform;
  j["host_os"] = h.host_os();
  j["host_os_minimum"] = h.host_os_minimum();
  j["host_binary_tag"] = h.host_binary_tag();
  j["host_binary_tag_minimum"] = h.host_binary_tag_minimum();
  j["os_id"] = h.os.raw;
  j["os_id_normalised"] = h.os_id;
  j["os_source"] = h.os.source;
  j["os_name"] = h.os.parsed ? nlohmann::ordered_json(h.os.parsed->name) : nullptr;
  j["os_version"] = h.os.parsed ? nlohmann::ordered_json(h.os.parsed->version) : nullptr;
  j["machine"] = h.machine;
  j["arch"] = h.arch;
  j["arch_minimum"] = h.arch_minimum;
  j["supported_archs"] = h.supported_archs;
  j["model"] = h.cpu.model;
  j["vendor"] = h.cpu.vendor;
  j["flags"] = h.cpu.flags;
  j["compiler_id"] = h.compiler_id;
  j["compatible_binary_tags"] = info.compatible_binary_tags;
  j["platforms_list"] = info.platforms_list_source;
  auto& ct = j["container_technology"] = nlohmann::ordered_json::object();
  for (const auto& runtime : info.container_technology) {
    auto& r = ct[runtime.runtime] = nlohmann::ordered_json::object();
    for (const auto& [path, tags] : runtime.images) r[path] = tags;
  }
  j["x86_64_level"] = opt(info.x86_64_level);
  j["x86_64_level_derived"] = opt(info.x86_64_level_derived);
  j["cpus"] = {{"logical", info.cpus.logical},        {"physical", opt(info.cpus.physical)},
               {"affinity", opt(info.cpus.affinity)}, {"cgroup_quota", opt(info.cpus.cgroup_quota)},
               {"batch", opt(info.cpus.batch)},       {"usable", opt(info.cpus.usable)}};
  j["memory"] = {{"total_bytes", opt(info.memory.total_bytes)},
                 {"cgroup_limit_bytes", opt(info.memory.cgroup_limit_bytes)},
                 {"usable_bytes", opt(info.memory.usable_bytes)}};
  if (info.disk)
    j["disk"] = {{"path", info.disk->path},
                 {"free_bytes", info.disk->free_bytes},
                 {"total_bytes", info.disk->total_bytes}};
  else
    j["disk"] = nullptr;
  auto& gpus = j["gpus"] = nlohmann::ordered_json::array();
  for (const auto& g : info.gpus)
    gpus.push_back({{"vendor", "nvidia"},
                    {"pci_address", g.pci_address},
                    {"model", g.model.empty() ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(g.model)},
                    {"driver_loaded", g.driver}});
  j["cvmfs"] = info.cvmfs;
  j["glibc"] = opt(info.glibc);
  j["dirac_core_platform"] = opt(info.dirac_core_platform);
  j["warnings"] = info.warnings;
  return j;
}

}  // namespace pilot::platform
