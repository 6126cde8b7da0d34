#pragma once
// The pilot's side of a DIRAC proxy delegation, done in memory with OpenSSL: a fresh RSA key and
// a certificate request for it, then the chain the ProxyManager signed turned into a proxy file
// (Globus order: the new certificate, its private key, the rest of the chain) once it has been
// checked to be a proxy of the expected owner, made for our key.

#include <chrono>
#include <string>

namespace pilot::dirac {

inline constexpr int kDefaultProxyBits = 2048;  // DIRAC's DEFAULT_PROXY_STRENGTH

struct ProxyRequest {
  std::string key_pem;      // unencrypted RSA private key (PKCS#1, as grid tools expect)
  std::string request_pem;  // PKCS#10, SHA-256, subject CN=limited proxy or CN=proxy
};

// Throws pilot::Error when `bits` is outside 1024..16384 or OpenSSL fails (naming the step).
ProxyRequest make_proxy_request(int bits, bool limited);

struct DelegatedProxy {
  std::string file;      // certificate, key, chain: the proxy file's contents
  std::string subject;   // of the new certificate, "/C=ch/.../CN=owner/CN=123"
  std::string identity;  // the end-entity certificate's subject (the owner's DN)
  bool limited = false;  // limited policy (id-ppl-limited or a legacy "CN=limited proxy")
  std::chrono::system_clock::time_point not_after;  // earliest over the chain
};

// Checks `chain_pem` (what getProxy returned) and assembles the proxy file. The checks, each with
// an error naming the reason: it parses as PEM certificates; the first one's public key is the
// key of `key_pem`; it is a proxy whose issuer is the next certificate of the chain and whose
// subject is that issuer's subject plus one CN; the chain's end entity is `owner_dn` (unless
// empty); it is valid now and for at least `min_lifetime`.
DelegatedProxy assemble_delegated_proxy(const std::string& chain_pem, const std::string& key_pem,
                                        const std::string& owner_dn,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds min_lifetime);

}  // namespace pilot::dirac
