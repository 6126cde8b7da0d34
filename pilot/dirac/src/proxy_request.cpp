#include "dirac/proxy_request.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <vector>

#include "core/error.hpp"
#include "x509_text.hpp"

namespace pilot::dirac {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PKeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using PciPtr = std::unique_ptr<PROXY_CERT_INFO_EXTENSION,
                               Deleter<PROXY_CERT_INFO_EXTENSION, PROXY_CERT_INFO_EXTENSION_free>>;

// The Globus policy language of limited proxies.
constexpr const char* kLimitedPolicyOid = "1.3.6.1.4.1.3536.1.1.1.9";

Error openssl_error(const std::string& step) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown OpenSSL error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  return Error(step + ": " + buf);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

BioPtr mem_bio() {
  return BioPtr(BIO_new(BIO_s_mem()));
}

std::vector<X509Ptr> read_chain(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> chain;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) chain.emplace_back(x);
  ERR_clear_error();
  return chain;
}

std::string cert_pem(X509* x) {
  auto bio = mem_bio();
  if (!PEM_write_bio_X509(bio.get(), x)) throw openssl_error("writing a certificate as PEM");
  return bio_text(bio.get());
}

bool limited_policy(X509* x) {
  int crit = 0;
  PciPtr pci(static_cast<PROXY_CERT_INFO_EXTENSION*>(
      X509_get_ext_d2i(x, NID_proxyCertInfo, &crit, nullptr)));
  if (!pci) return dn_text(X509_get_subject_name(x)).ends_with("/CN=limited proxy");
  char oid[80] = {};
  OBJ_obj2txt(oid, sizeof oid, pci->proxyPolicy->policyLanguage, 1);
  return std::string(oid) == kLimitedPolicyOid;
}

}  // namespace

ProxyRequest make_proxy_request(int bits, bool limited) {
  if (bits < 1024 || bits > 16384)
    throw Error("proxy request: key strength " + std::to_string(bits) +
                " bits is outside 1024..16384");
  PKeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) <= 0)
    throw openssl_error("proxy request: preparing RSA key generation");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) <= 0)
    throw openssl_error("proxy request: generating the RSA key");
  PKeyPtr key(raw);

  ReqPtr req(X509_REQ_new());
  if (!req || !X509_REQ_set_version(req.get(), 0))
    throw openssl_error("proxy request: creating the request");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  const char* cn = limited ? "limited proxy" : "proxy";
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(cn), -1, -1, 0))
    throw openssl_error("proxy request: setting the subject");
  if (!X509_REQ_set_pubkey(req.get(), key.get()))
    throw openssl_error("proxy request: setting the public key");
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
    throw openssl_error("proxy request: signing with SHA-256");

  ProxyRequest out;
  auto kb = mem_bio();
  if (!PEM_write_bio_PrivateKey_traditional(kb.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr))
    throw openssl_error("proxy request: writing the private key");
  out.key_pem = bio_text(kb.get());
  auto rb = mem_bio();
  if (!PEM_write_bio_X509_REQ(rb.get(), req.get()))
    throw openssl_error("proxy request: writing the request");
  out.request_pem = bio_text(rb.get());
  return out;
}

DelegatedProxy assemble_delegated_proxy(const std::string& chain_pem, const std::string& key_pem,
                                        const std::string& owner_dn,
                                        std::chrono::system_clock::time_point now,
                                        std::chrono::seconds min_lifetime) {
  const std::string what = "delegated proxy of " + owner_dn;
  auto chain = read_chain(chain_pem);
  if (chain.empty()) throw Error(what + ": the reply holds no PEM certificate");
  if (chain.size() < 2)
    throw Error(what + ": the reply holds one certificate, not a chain up to the owner's");
  BioPtr kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  PKeyPtr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!key) throw openssl_error(what + ": reading our private key");

  X509* cert = chain[0].get();
  X509* issuer = chain[1].get();
  DelegatedProxy out;
  out.subject = dn_text(X509_get_subject_name(cert));
  if (EVP_PKEY_eq(X509_get0_pubkey(cert), key.get()) != 1)
    throw Error(what + ": the certificate " + out.subject + " is not for the key we asked for");
  if (!is_proxy_certificate(cert))
    throw Error(what + ": the certificate " + out.subject + " is not a proxy");
  std::string issuer_subject = dn_text(X509_get_subject_name(issuer));
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
    throw Error(what + ": the certificate was issued by " + dn_text(X509_get_issuer_name(cert)) +
                ", not by the next certificate of the chain " + issuer_subject);
  if (X509_verify(cert, X509_get0_pubkey(issuer)) != 1) {
    ERR_clear_error();
    throw Error(what + ": the certificate's signature does not verify with " + issuer_subject +
                "'s key");
  }
  if (!out.subject.starts_with(issuer_subject + "/CN=") ||
      out.subject.find('/', issuer_subject.size() + 1) != std::string::npos)
    throw Error(what + ": subject " + out.subject + " is not its issuer's " + issuer_subject +
                " plus one CN");
  bool found = false;
  for (const auto& c : chain) {
    if (!is_proxy_certificate(c.get())) {
      out.identity = dn_text(X509_get_subject_name(c.get()));
      found = true;
      break;
    }
  }
  if (!found) out.identity = dn_text(X509_get_issuer_name(chain.back().get()));
  if (!owner_dn.empty() && out.identity != owner_dn)
    throw Error(what + ": the chain belongs to " + out.identity);
  out.limited = limited_policy(cert);

  auto not_before = asn1_time_point(X509_get0_notBefore(cert));
  out.not_after = asn1_time_point(X509_get0_notAfter(cert));
  for (const auto& c : chain)
    out.not_after = std::min(out.not_after, asn1_time_point(X509_get0_notAfter(c.get())));
  // A little clock skew between the ProxyManager and this node is normal.
  if (not_before > now + std::chrono::minutes(5))
    throw Error(
        what + ": the certificate is not valid yet (clock skew between this node and the server?)");
  auto left = std::chrono::duration_cast<std::chrono::seconds>(out.not_after - now);
  if (left.count() <= 0) throw Error(what + ": it has already expired");
  if (left < min_lifetime)
    throw Error(what + ": it is valid for " + std::to_string(left.count()) +
                " s only, less than the " + std::to_string(min_lifetime.count()) + " s required");

  out.file = cert_pem(cert) + key_pem;
  for (std::size_t i = 1; i < chain.size(); ++i) out.file += cert_pem(chain[i].get());
  return out;
}

}  // namespace pilot::dirac
