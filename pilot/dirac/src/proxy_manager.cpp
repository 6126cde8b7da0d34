#include "dirac/proxy_manager.hpp"

#include "dirac/rpc.hpp"

namespace pilot::dirac {

std::string default_proxy_manager_url(const std::string& matcher_url) {
  return sibling_service_url(matcher_url, 9152, "Framework/ProxyManager",
                             "Framework/TornadoProxyManager");
}

namespace {

Value checked_call(const ServiceClient& pm, std::string_view method, const List& args) {
  Reply r = call(pm.urls, method, args, pm.options, pm.log);
  if (!r.ok)
    throw ServiceError("ProxyManager." + std::string(method) + " refused: " + r.message +
                           (r.errno_value ? " (Errno " + std::to_string(r.errno_value) + ")" : ""),
                       r.errno_value);
  return r.value;
}

Value optional_text(const std::optional<std::string>& s) {
  return s ? Value(*s) : Value();
}

}  // namespace

std::int64_t get_stored_proxy_strength(const ServiceClient& pm, const std::string& owner,
                                       const std::string& group,
                                       const std::optional<std::string>& voms_attribute) {
  Value v = checked_call(pm, "getStoredProxyStrength",
                         list({owner, group, optional_text(voms_attribute)}));
  return v.as_int("ProxyManager.getStoredProxyStrength reply");
}

std::string get_proxy(const ServiceClient& pm, const std::string& owner, const std::string& group,
                      const std::string& request_pem, std::int64_t lifetime_s,
                      const std::optional<std::string>& voms_attribute) {
  Value v = voms_attribute
                ? checked_call(pm, "getVOMSProxy",
                               list({owner, group, request_pem, lifetime_s, *voms_attribute}))
                : checked_call(pm, "getProxy", list({owner, group, request_pem, lifetime_s}));
  // DEncode carries the chain as str; the JSON flavour may tag bytes.
  if (v.is<Bytes>()) return std::get<Bytes>(v.variant()).data;
  return v.as_string("ProxyManager.getProxy reply");
}

std::optional<std::string> voms_attribute_for(const std::vector<std::string>& entries,
                                              const std::string& group) {
  for (const auto& e : entries) {
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == e.size())
      throw Error("VOMS attribute entry '" + e + "' is not group=attribute");
    if (e.substr(0, eq) == group) return e.substr(eq + 1);
  }
  return std::nullopt;
}

DelegatedProxy delegate_payload_proxy(const ServiceClient& pm, const std::string& owner,
                                      const std::string& group, const PayloadProxyOptions& options,
                                      const log::Logger& log) {
  auto voms = voms_attribute_for(options.voms_attributes, group);
  int bits = kDefaultProxyBits;
  try {
    auto strength = get_stored_proxy_strength(pm, owner, group, voms);
    if (strength < 1024 || strength > 16384)
      log.warn(
          "stored proxy strength out of range, using the default",
          {{"owner", owner}, {"group", group}, {"bits", strength}, {"default", kDefaultProxyBits}});
    else
      bits = static_cast<int>(strength);
  } catch (const ServiceError& e) {
    // DIRAC goes on with the default strength; getProxy tells whether there is a proxy at all.
    log.warn("could not get the stored proxy strength, using the default",
             {{"owner", owner},
              {"group", group},
              {"error", std::string(e.what())},
              {"default", kDefaultProxyBits}});
  }
  ProxyRequest request = make_proxy_request(bits, options.limited);
  std::string chain =
      get_proxy(pm, owner, group, request.request_pem, options.lifetime.count(), voms);
  // A v9 Owner is a user name: the DN it maps to is the server's business.
  std::string expected = owner.starts_with('/') ? owner : std::string();
  return assemble_delegated_proxy(chain, request.key_pem, expected,
                                  std::chrono::system_clock::now(), std::chrono::seconds(0));
}

}  // namespace pilot::dirac
