#pragma once
// Grid credentials for DIRAC calls: an X.509 proxy (certificate, key and chain in one file, in
// the Globus order) or a host certificate and key, the hashed CA directory that verifies servers,
// and a WLCG bearer token for HTTPS. Environment lookups go through a function so tests and
// callers choose what they read.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace pilot::dirac {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// Reads the process environment (empty values count as unset).
EnvLookup process_env();

struct Credentials {
  std::filesystem::path cert;    // proxy file, or host certificate
  std::filesystem::path key;     // empty: the key is in `cert` (a proxy)
  std::filesystem::path ca_dir;  // hashed CA directory that verifies servers
  bool host = false;             // host credentials: calls carry extraCredentials "hosts"
};

// The pilot's credentials: the proxy in $X509_USER_PROXY, else /tmp/x509up_u<uid> if present, else
// the host certificate of $X509_USER_CERT/$X509_USER_KEY or /etc/grid-security/hostcert.pem and
// hostkey.pem (under `root`); CA directory $X509_CERT_DIR or /etc/grid-security/certificates.
// Throws pilot::Error listing what was tried when no credential or no CA directory exists.
Credentials find_credentials(const EnvLookup& env, unsigned uid,
                             const std::filesystem::path& root = "/");

// What the pilot needs to know about its certificate chain.
struct CertificateInfo {
  std::string subject;   // of the first certificate, "/C=ch/O=DIRAC/CN=pilot/CN=123"
  std::string identity;  // subject of the end-entity certificate the proxies derive from
  std::string issuer;
  bool is_proxy = false;             // first certificate is an RFC3820 (or legacy) proxy
  std::optional<std::string> group;  // DIRAC group, proxy extension 1.2.42.42
  std::chrono::system_clock::time_point not_before;  // latest start of validity over the chain
  std::chrono::system_clock::time_point not_after;   // earliest expiry over the whole chain
};

// Reads every certificate in the PEM file (a proxy file's chain). Throws pilot::Error naming the
// file when it is missing, unreadable or holds no certificate.
CertificateInfo read_certificate_info(const std::filesystem::path& pem_file);

struct LifetimeCheck {
  bool usable = false;  // valid now and for at least `needed`
  bool warn = false;    // usable, but expires within `warn_within`
  std::chrono::seconds left{0};
  std::string message;  // for the log: why it is refused or why the warning
};
// Checks a credential's remaining lifetime against the work about to start. The message of an
// expired or not yet valid credential gives its validity dates and the current time.
LifetimeCheck check_lifetime(const CertificateInfo& info, std::chrono::system_clock::time_point now,
                             std::chrono::seconds needed, std::chrono::seconds warn_within);

// A bearer token by WLCG discovery: $BEARER_TOKEN, $BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<uid>,
// /tmp/bt_u<uid> (under `root`); surrounding white space removed. nullopt when there is none; a
// named file that cannot be read throws pilot::Error.
std::optional<std::string> find_bearer_token(const EnvLookup& env, unsigned uid,
                                             const std::filesystem::path& root = "/");

}  // namespace pilot::dirac
