#include "agent/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::agent {
namespace {

using nlohmann::json;

// One configuration key: how to read it from a Config and how to set it from JSON. The table
// below is the only list of keys, so defaults, parsing and error messages cannot drift apart.
struct Key {
  std::string name;
  bool is_list = false;
  std::function<json(const Config&)> get;
  std::function<void(Config&, const json&, const std::string& where)> set;
};

std::string type_error(const std::string& where, const std::string& what, const json& v) {
  return where + " must be " + what + ", got " + v.dump();
}

template <typename T>
Key key(std::string name, T& (*access)(Config&)) {
  Key k;
  k.name = name;
  k.get = [access](const Config& c) -> json {
    const T& v = access(const_cast<Config&>(c));
    if constexpr (std::is_same_v<T, std::filesystem::path>)
      return v.string();
    else if constexpr (std::is_same_v<T, PacingKind>)
      return pacing_name(v);
    else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>)
      return v ? json(*v) : json();
    else
      return json(v);
  };
  k.set = [access](Config& c, const json& v, const std::string& where) {
    T& out = access(c);
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
      if (!v.is_string()) throw Error(type_error(where, "a string", v));
      out = v.get<std::string>();
    } else if constexpr (std::is_same_v<T, PacingKind>) {
      auto kind = v.is_string() ? pacing_from_name(v.get<std::string>()) : std::nullopt;
      if (!kind) throw Error(type_error(where, "\"jitter\" or \"dirac\"", v));
      out = *kind;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) throw Error(type_error(where, "true or false", v));
      out = v.get<bool>();
    } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, std::int64_t> ||
                         std::is_same_v<T, std::size_t>) {
      if (!v.is_number_integer()) throw Error(type_error(where, "an integer", v));
      auto n = v.get<std::int64_t>();
      if (n < 0 || static_cast<std::uint64_t>(n) > std::numeric_limits<T>::max())
        throw Error(type_error(where, "a non-negative integer", v));
      out = static_cast<T>(n);
    } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
      if (v.is_null()) {
        out.reset();
        return;
      }
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
        throw Error(type_error(where, "a non-negative integer or null", v));
      out = v.get<std::int64_t>();
    } else if constexpr (std::is_same_v<T, double>) {
      if (!v.is_number() || v.get<double>() < 0)
        throw Error(type_error(where, "a non-negative number", v));
      out = v.get<double>();
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!v.is_array()) throw Error(type_error(where, "a list of strings", v));
      std::vector<std::string> list;
      for (const auto& e : v) {
        if (!e.is_string()) throw Error(type_error(where, "a list of strings", v));
        list.push_back(e.get<std::string>());
      }
      out = std::move(list);
    }
  };
  k.is_list = std::is_same_v<T, std::vector<std::string>>;
  return k;
}

#define PILOT_KEY(name, member) \
  key(                          \
      name, +[](Config & c) -> auto& { return c.member; })

// What the operators see (monitor/): the status file, the Prometheus text file, STOMP.
std::vector<Key> monitoring_keys() {
  return {
      PILOT_KEY("status_period_s", status_period_s),
      PILOT_KEY("metrics_textfile", metrics_textfile),
      PILOT_KEY("stomp.host", stomp.host),
      PILOT_KEY("stomp.port", stomp.port),
      PILOT_KEY("stomp.tls", stomp.tls),
      PILOT_KEY("stomp.ca_dir", stomp.ca_dir),
      PILOT_KEY("stomp.ca_file", stomp.ca_file),
      PILOT_KEY("stomp.login", stomp.login),
      PILOT_KEY("stomp.passcode", stomp.passcode),
      PILOT_KEY("stomp.vhost", stomp.vhost),
      PILOT_KEY("stomp.destination", stomp.destination),
      PILOT_KEY("stomp.pilot_destination", stomp.pilot_destination),
      PILOT_KEY("stomp.queue_bound", stomp.queue_bound),
      PILOT_KEY("stomp.connect_timeout_s", stomp.connect_timeout_s),
      PILOT_KEY("stomp.heartbeat_ms", stomp.heartbeat_ms),
      PILOT_KEY("stomp.pilot_period_s", stomp_pilot_period_s),
  };
}

const std::vector<Key>& keys() {
  static const std::vector<Key> table = [] {
    std::vector<Key> t = {
        PILOT_KEY("site", site),
        PILOT_KEY("ce", ce),
        PILOT_KEY("queue", queue),
        PILOT_KEY("vo", vo),
        PILOT_KEY("setup", setup),
        PILOT_KEY("release_version", release_version),
        PILOT_KEY("release_project", release_project),
        PILOT_KEY("services.matcher", services.matcher),
        PILOT_KEY("services.job_state_update", services.job_state_update),
        PILOT_KEY("services.pilot_logging", services.pilot_logging),
        PILOT_KEY("services.sandbox_store", services.sandbox_store),
        PILOT_KEY("services.proxy_manager", services.proxy_manager),
        PILOT_KEY("services.job_manager", services.job_manager),
        PILOT_KEY("queue_dir", queue_dir),
        PILOT_KEY("tags", tags),
        PILOT_KEY("required_tags", required_tags),
        PILOT_KEY("workdir", workdir),
        PILOT_KEY("processors", processors),
        PILOT_KEY("memory_mb", memory_mb),
        PILOT_KEY("cpu_power_hs06", cpu_power_hs06),
        PILOT_KEY("wall_limit_s", wall_limit_s),
        PILOT_KEY("max_jobs", max_jobs),
        PILOT_KEY("stop_after_failed_matches", stop_after_failed_matches),
        PILOT_KEY("max_host_failures", max_host_failures),
        PILOT_KEY("polling_s", pacing.polling_s),
        PILOT_KEY("pacing.kind", pacing.kind),
        PILOT_KEY("pacing.start_spread_s", pacing.start_spread_s),
        PILOT_KEY("pacing.no_match_base_s", pacing.no_match_base_s),
        PILOT_KEY("pacing.no_match_cap_s", pacing.no_match_cap_s),
        PILOT_KEY("pacing.error_base_s", pacing.error_base_s),
        PILOT_KEY("pacing.error_cap_s", pacing.error_cap_s),
        PILOT_KEY("pacing.max_requests_per_s", pacing.max_requests_per_s),
        PILOT_KEY("pacing.congestion_latency_s", pacing.congestion_latency_s),
        PILOT_KEY("pacing.congestion_factor", pacing.congestion_factor),
        PILOT_KEY("min_cpu_work_left_hs06s", min_cpu_work_left_hs06s),
        PILOT_KEY("pilot_lifetime_s", pilot_lifetime_s),
        PILOT_KEY("fill", fill),
        PILOT_KEY("drain_file", drain_file),
        PILOT_KEY("min_free_disk_mb", min_free_disk_mb),
        PILOT_KEY("require_cvmfs", require_cvmfs),
        PILOT_KEY("cvmfs_repositories", cvmfs_repositories),
        PILOT_KEY("dirac_runtime.sources", dirac_runtime.sources),
        PILOT_KEY("dirac_runtime.required", dirac_runtime.required),
        PILOT_KEY("dirac_runtime.timeout_s", dirac_runtime.timeout_s),
        PILOT_KEY("dirac_runtime.configuration_servers", dirac_runtime.configuration_servers),
        PILOT_KEY("dirac_runtime.site_cfg", dirac_runtime.site_cfg),
        PILOT_KEY("heartbeat_s", heartbeat_s),
        PILOT_KEY("stop_signal", stop_signal),
        PILOT_KEY("grace_s", grace_s),
        PILOT_KEY("job_memory_limit_bytes", job_memory_limit_bytes),
        PILOT_KEY("proxy", proxy),
        PILOT_KEY("cert_dir", cert_dir),
        PILOT_KEY("host_cert", host_cert),
        PILOT_KEY("host_key", host_key),
        PILOT_KEY("min_proxy_lifetime_s", min_proxy_lifetime_s),
        PILOT_KEY("payload_proxy_required", payload_proxy_required),
        PILOT_KEY("payload_proxy_lifetime_s", payload_proxy_lifetime_s),
        PILOT_KEY("payload_proxy_check_s", payload_proxy_check_s),
        PILOT_KEY("payload_proxy_renew_before_s", payload_proxy_renew_before_s),
        PILOT_KEY("payload_proxy_voms", payload_proxy_voms),
        PILOT_KEY("pilot_uuid", pilot_uuid),
        PILOT_KEY("rpc_connect_timeout_s", rpc_connect_timeout_s),
        PILOT_KEY("rpc_timeout_s", rpc_timeout_s),
        PILOT_KEY("report_retry_s", report_retry_s),
    };
    auto monitoring = monitoring_keys();
    t.insert(t.end(), monitoring.begin(), monitoring.end());
    return t;
  }();
  return table;
}
#undef PILOT_KEY

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const Key& find_key(const std::string& name, std::string_view origin) {
  for (const auto& k : keys())
    if (k.name == name) return k;
  std::string msg = std::string(origin) + ": unknown configuration option '" + name + "'";
  const Key* best = nullptr;
  std::size_t best_d = 3;
  for (const auto& k : keys()) {
    auto d = edit_distance(name, k.name);
    if (d < best_d) best = &k, best_d = d;
  }
  if (best) msg += " (did you mean '" + best->name + "'?)";
  throw Error(msg);
}

bool is_prefix_of_a_key(const std::string& prefix) {
  return std::any_of(keys().begin(), keys().end(),
                     [&](const Key& k) { return k.name.starts_with(prefix + "."); });
}

void apply_object(Config& c, const json& obj, const std::string& prefix, std::string_view origin,
                  std::set<std::string>* explicit_keys) {
  for (const auto& [name, value] : obj.items()) {
    std::string full = prefix.empty() ? name : prefix + "." + name;
    if (value.is_object() && is_prefix_of_a_key(full)) {
      apply_object(c, value, full, origin, explicit_keys);
      continue;
    }
    const Key& k = find_key(full, origin);
    k.set(c, value, std::string(origin) + ": configuration option '" + full + "'");
    if (explicit_keys) explicit_keys->insert(full);
  }
}

json parse_override_value(const Key& k, std::string_view text) {
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) v = std::string(text);
  // Lists are convenient to give as a,b,c on a command line.
  if (k.is_list && v.is_string()) {
    json list = json::array();
    std::string s = v.get<std::string>();
    for (std::size_t p = 0; p <= s.size() && !s.empty();) {
      auto q = s.find(',', p);
      if (q == std::string::npos) q = s.size();
      list.push_back(s.substr(p, q - p));
      p = q + 1;
    }
    return list;
  }
  return v;
}

Config apply_override_impl(const Config& base, std::string_view assignment,
                           std::set<std::string>* explicit_keys) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw Error("--set: expected key=value, got '" + std::string(assignment) + "'");
  std::string name(assignment.substr(0, eq));
  const Key& k = find_key(name, "--set");
  Config c = base;
  k.set(c, parse_override_value(k, assignment.substr(eq + 1)),
        "--set: configuration option '" + name + "'");
  if (explicit_keys) explicit_keys->insert(name);
  return c;
}

}  // namespace

json config_to_json(const Config& config) {
  json out = json::object();
  for (const auto& k : keys()) {
    auto dot = k.name.find('.');
    if (dot == std::string::npos)
      out[k.name] = k.get(config);
    else
      out[k.name.substr(0, dot)][k.name.substr(dot + 1)] = k.get(config);
  }
  return out;
}

Config apply_config(const Config& base, const json& object, std::string_view origin) {
  if (!object.is_object())
    throw Error(std::string(origin) + ": the configuration must be a JSON object");
  Config c = base;
  apply_object(c, object, "", origin, nullptr);
  return c;
}

Config apply_override(const Config& base, std::string_view assignment) {
  return apply_override_impl(base, assignment, nullptr);
}

Config load_config(const std::optional<std::filesystem::path>& file,
                   const std::vector<std::string>& overrides,
                   const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  Config c;
  std::set<std::string> explicit_keys;
  if (file) {
    auto text = read_file(*file, 4 << 20);
    if (!text) throw Error("configuration file " + file->string() + " does not exist");
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded())
      throw Error("configuration file " + file->string() + " is not valid JSON");
    if (!j.is_object()) throw Error(file->string() + ": the configuration must be a JSON object");
    apply_object(c, j, "", file->string(), &explicit_keys);
  }
  for (const auto& o : overrides) c = apply_override_impl(c, o, &explicit_keys);

  // The environment fills what the configuration did not say.
  auto from_env = [&](const char* key, const char* var, auto& field) {
    if (explicit_keys.count(key)) return;
    if (auto v = getenv(var); v && !v->empty()) field = *v;
  };
  from_env("proxy", "X509_USER_PROXY", c.proxy);
  from_env("cert_dir", "X509_CERT_DIR", c.cert_dir);
  from_env("pilot_uuid", "PILOT_UUID", c.pilot_uuid);
  if (c.cert_dir.empty()) c.cert_dir = "/etc/grid-security/certificates";
  if (c.proxy.empty() && c.host_cert.empty() && c.uses_dirac())
    c.proxy = "/tmp/x509up_u" + std::to_string(::getuid());

  if (c.uses_dirac() && c.services.job_state_update.empty())
    throw Error("configuration: services.matcher is set but services.job_state_update is not");
  if (!c.stomp.host.empty() && c.stomp.queue_bound == 0)
    throw Error("configuration: stomp.queue_bound must be more than 0 when stomp.host is set");
  if (!c.stomp.host.empty() && c.stomp.tls && c.stomp.ca_dir.empty() && c.stomp.ca_file.empty())
    throw Error(
        "configuration: stomp.tls needs stomp.ca_dir or stomp.ca_file to verify the broker");
  if (c.status_period_s <= 0)
    throw Error("configuration: status_period_s must be more than 0, got " +
                std::to_string(c.status_period_s));
  return c;
}

}  // namespace pilot::agent
