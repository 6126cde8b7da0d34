#include "dirac/resource_description.hpp"

#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "dirac/codec.hpp"

namespace pilot::dirac {
namespace {

enum class Type { str, integer, floating, boolean, str_list };

std::optional<Type> type_of(std::string_view key) {
  static const std::pair<std::string_view, Type> known[] = {
      {"Site", Type::str},           {"GridCE", Type::str},
      {"CEQueue", Type::str},        {"Platform", Type::str},
      {"PilotReference", Type::str}, {"ReleaseVersion", Type::str},
      {"ReleaseProject", Type::str}, {"VirtualOrganization", Type::str},
      {"GridMiddleware", Type::str}, {"JobType", Type::str},
      {"CPUTime", Type::integer},    {"NumberOfProcessors", Type::integer},
      {"MaxRAM", Type::integer},     {"PilotBenchmark", Type::floating},
      {"WholeNode", Type::boolean},  {"PilotInfoReportedFlag", Type::boolean},
      {"Tag", Type::str_list},       {"RequiredTag", Type::str_list}};
  for (const auto& [k, t] : known)
    if (k == key) return t;
  return std::nullopt;  // other keys keep their JSON type
}

Value convert(const std::string& key, const nlohmann::json& j) {
  auto type = type_of(key);
  if (!type) return value_from_json(j);
  auto bad = [&] {
    return Error("resource description: " + key + " = " + j.dump() +
                 " cannot be sent as the type DIRAC expects");
  };
  switch (*type) {
    case Type::str:
      if (j.is_string()) return j.get<std::string>();
      if (j.is_number_integer()) return std::to_string(j.get<std::int64_t>());
      if (j.is_number_float()) return python_float_repr(j.get<double>());
      throw bad();
    case Type::integer:
      if (j.is_number_integer()) return j.get<std::int64_t>();
      if (j.is_number_float() && std::isfinite(j.get<double>()))
        return static_cast<std::int64_t>(j.get<double>());
      if (j.is_string()) {
        try {
          std::size_t used = 0;
          long long v = std::stoll(j.get<std::string>(), &used);
          if (used == j.get<std::string>().size()) return static_cast<std::int64_t>(v);
        } catch (const std::exception&) {
        }
      }
      throw bad();
    case Type::floating:
      if (j.is_number()) return j.get<double>();
      throw bad();
    case Type::boolean:
      if (j.is_boolean()) return j.get<bool>();
      throw bad();
    case Type::str_list: {
      List l;
      if (j.is_string())
        l.items.push_back(j.get<std::string>());
      else if (j.is_array()) {
        for (const auto& e : j) {
          if (!e.is_string()) throw bad();
          l.items.push_back(e.get<std::string>());
        }
      } else
        throw bad();
      return l;
    }
  }
  throw bad();
}

}  // namespace

Value value_from_json(const nlohmann::json& j) {
  return from_json(j);
}

Dict resource_description(const jobs::ResourceRequest& r, bool pilot_info_reported) {
  if (r.site.empty()) throw Error("resource description: Site is empty (set the pilot's site)");
  if (r.cpu_work_left_hs06s <= 0)
    throw Error("resource description: CPUTime must be positive, got " +
                std::to_string(r.cpu_work_left_hs06s));
  Dict d;
  d.set("Site", r.site);
  d.set("CPUTime", r.cpu_work_left_hs06s);
  if (!r.grid_ce.empty()) d.set("GridCE", r.grid_ce);
  if (!r.ce_queue.empty()) d.set("CEQueue", r.ce_queue);
  if (!r.platform.empty()) d.set("Platform", r.platform);
  d.set("NumberOfProcessors", static_cast<std::int64_t>(r.processors > 0 ? r.processors : 1));
  if (r.max_ram_mb > 0) d.set("MaxRAM", r.max_ram_mb);
  if (r.whole_node) d.set("WholeNode", true);
  auto strings = [](const std::vector<std::string>& v) {
    List l;
    for (const auto& s : v) l.items.push_back(s);
    return l;
  };
  if (!r.tags.empty()) d.set("Tag", strings(r.tags));
  if (!r.required_tags.empty()) d.set("RequiredTag", strings(r.required_tags));
  if (!r.pilot_reference.empty()) d.set("PilotReference", r.pilot_reference);
  if (r.pilot_benchmark > 0) d.set("PilotBenchmark", r.pilot_benchmark);
  d.set("PilotInfoReportedFlag", pilot_info_reported);
  if (!r.extra.is_null()) {
    if (!r.extra.is_object())
      throw Error("resource description: the extra keys must be a JSON object");
    for (const auto& [k, v] : r.extra.items()) d.set(k, convert(k, v));
  }
  return d;
}

}  // namespace pilot::dirac
