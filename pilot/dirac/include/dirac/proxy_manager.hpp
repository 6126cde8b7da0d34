#pragma once
// Framework/ProxyManager (DISET `dips://host:9152/Framework/ProxyManager` or HTTPS
// `.../Framework/TornadoProxyManager`): how the pilot gets the job owner's credential for the
// payload, as DIRAC's ProxyManagerClient.getPayloadProxyFromDIRACGroup does: the stored proxy's
// key strength, a fresh key and request of that strength, getProxy (getVOMSProxy when the group
// maps to a VOMS attribute), and the returned chain checked and assembled into a proxy file.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "dirac/proxy_request.hpp"
#include "dirac/services.hpp"

namespace pilot::dirac {

// The ProxyManager beside a Matcher when none is configured: same scheme and host, DIRAC's
// standard port 9152 (dips) or the same port (https, one Tornado port serves every service).
// Throws pilot::Error for a URL parse_service_url refuses.
std::string default_proxy_manager_url(const std::string& matcher_url);

// getStoredProxyStrength(userDN, userGroup, vomsAttribute or None) -> bits.
std::int64_t get_stored_proxy_strength(const ServiceClient& pm, const std::string& owner,
                                       const std::string& group,
                                       const std::optional<std::string>& voms_attribute);
// getProxy(userDN, userGroup, requestPem, requiredLifetime), or getVOMSProxy(..., vomsAttribute)
// when `voms_attribute` is set -> the PEM chain. Throws ServiceError (S_ERROR) / RpcError.
std::string get_proxy(const ServiceClient& pm, const std::string& owner, const std::string& group,
                      const std::string& request_pem, std::int64_t lifetime_s,
                      const std::optional<std::string>& voms_attribute);

struct PayloadProxyOptions {
  std::chrono::seconds lifetime{5 * 86400};  // requiredLifetime (DIRAC JobAgent DefaultProxyLength)
  bool limited = true;                       // payload proxies are limited, as DIRAC makes them
  // "group=VOMS attribute" entries, e.g. "lhcb_user=/lhcb/Role=user": groups listed here get a
  // VOMS proxy (DIRAC's Registry VOMSRole); others a plain one.
  std::vector<std::string> voms_attributes;
};

// The VOMS attribute of `group` in "group=attribute" entries. Throws pilot::Error for an entry
// without '=' (naming it).
std::optional<std::string> voms_attribute_for(const std::vector<std::string>& entries,
                                              const std::string& group);

// The whole delegation. `owner` is the Matcher's DN (v8) or Owner (v9, a user name: the chain's
// identity is then not compared). A strength the server cannot tell falls back to 2048 bits with
// a warning, as DIRAC does. Throws ServiceError/RpcError from the calls, pilot::Error when the
// returned chain fails a check.
DelegatedProxy delegate_payload_proxy(const ServiceClient& pm, const std::string& owner,
                                      const std::string& group, const PayloadProxyOptions& options,
                                      const log::Logger& log);

}  // namespace pilot::dirac
