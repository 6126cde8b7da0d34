#include "dirac/credentials.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/tls_verify.hpp"
#include "core/trim.hpp"
#include "x509_text.hpp"

namespace pilot::dirac {
namespace fs = std::filesystem;

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

namespace {

fs::path under(const fs::path& root, const fs::path& p) {
  return p.is_absolute() ? root / p.relative_path() : root / p;
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::optional<std::string> dirac_group(X509* cert) {
  ASN1_OBJECT* oid = OBJ_txt2obj("1.2.42.42", 1);
  int idx = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  if (idx < 0) return std::nullopt;
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  const unsigned char* p = ASN1_STRING_get0_data(data);
  long len = 0;
  int tag = 0, cls = 0;
  // The value is a DER IA5String (what openssl's "ASN1:IA5:<group>" writes); older DIRAC wrote
  // UTF8String, accept any string type.
  if (ASN1_get_object(&p, &len, &tag, &cls, ASN1_STRING_length(data)) & 0x80) return std::nullopt;
  if (len <= 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
}

bool is_proxy(X509* cert) {
  if (X509_get_ext_by_NID(cert, NID_proxyCertInfo, -1) >= 0) return true;
  // Legacy Globus proxies carry no extension; their subject ends in CN=proxy / CN=limited proxy.
  std::string s = dn_text(X509_get_subject_name(cert));
  return s.ends_with("/CN=proxy") || s.ends_with("/CN=limited proxy");
}

}  // namespace

Credentials find_credentials(const EnvLookup& env, unsigned uid, const fs::path& root) {
  Credentials c;
  std::vector<std::string> tried;
  if (auto p = env("X509_USER_PROXY")) {
    if (!present(under(root, *p)))
      throw Error("X509_USER_PROXY names " + *p + ", which does not exist");
    c.cert = under(root, *p);
  } else if (fs::path p = under(root, "/tmp/x509up_u" + std::to_string(uid)); present(p)) {
    c.cert = p;
  } else {
    tried.push_back("$X509_USER_PROXY (unset)");
    tried.push_back(p.string());
    fs::path cert = under(root, env("X509_USER_CERT").value_or("/etc/grid-security/hostcert.pem"));
    fs::path key = under(root, env("X509_USER_KEY").value_or("/etc/grid-security/hostkey.pem"));
    if (present(cert) && present(key)) {
      c.cert = cert, c.key = key, c.host = true;
    } else {
      tried.push_back(cert.string() + " + " + key.string());
      std::string list;
      for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
      throw Error("no grid credential found (tried " + list + ")");
    }
  }
  c.ca_dir = under(root, env("X509_CERT_DIR").value_or("/etc/grid-security/certificates"));
  std::error_code ec;
  if (!fs::is_directory(c.ca_dir, ec))
    throw Error("CA directory " + c.ca_dir.string() + " does not exist (set X509_CERT_DIR)");
  return c;
}

CertificateInfo read_certificate_info(const fs::path& file) {
  auto text = read_file(file, 1 << 20);
  if (!text) throw Error("certificate file " + file.string() + " does not exist");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text->data(), static_cast<int>(text->size())), BIO_free);
  std::vector<X509Ptr> chain;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) chain.emplace_back(x);
  ERR_clear_error();
  if (chain.empty()) throw Error("certificate file " + file.string() + " holds no PEM certificate");
  CertificateInfo info;
  X509* first = chain.front().get();
  info.subject = dn_text(X509_get_subject_name(first));
  info.issuer = dn_text(X509_get_issuer_name(first));
  info.is_proxy = is_proxy(first);
  info.not_before = asn1_time_point(X509_get0_notBefore(first));
  info.not_after = asn1_time_point(X509_get0_notAfter(first));
  info.identity = info.subject;
  bool identity_found = false;
  for (const auto& c : chain) {
    X509* x = c.get();
    if (!info.group) info.group = dirac_group(x);
    auto na = asn1_time_point(X509_get0_notAfter(x));
    if (na < info.not_after) info.not_after = na;
    auto nb = asn1_time_point(X509_get0_notBefore(x));
    if (nb > info.not_before) info.not_before = nb;
    if (!identity_found && !is_proxy(x)) {
      info.identity = dn_text(X509_get_subject_name(x));
      identity_found = true;
    }
  }
  if (!identity_found && info.is_proxy) info.identity = info.issuer;
  return info;
}

LifetimeCheck check_lifetime(const CertificateInfo& info, std::chrono::system_clock::time_point now,
                             std::chrono::seconds needed, std::chrono::seconds warn_within) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  LifetimeCheck r;
  r.left = duration_cast<seconds>(info.not_after - now);
  std::string who = (info.is_proxy ? "proxy " : "certificate ") + info.subject;
  auto epoch = [](std::chrono::system_clock::time_point t) {
    return tls::utc_text(std::chrono::duration_cast<seconds>(t.time_since_epoch()).count());
  };
  if (now < info.not_before) {
    r.message = who + " is not valid yet: valid from " + epoch(info.not_before) + ", now " +
                epoch(now) + " (is the node's clock right?)";
  } else if (r.left.count() <= 0) {
    r.message = who + " has expired: valid until " + epoch(info.not_after) + ", now " + epoch(now);
  } else if (r.left < needed) {
    r.message = who + " expires in " + std::to_string(r.left.count()) + " s, before the " +
                std::to_string(needed.count()) + " s the work needs";
  } else {
    r.usable = true;
    if (r.left < warn_within) {
      r.warn = true;
      r.message = who + " expires in " + std::to_string(r.left.count()) + " s; renew it";
    }
  }
  return r;
}

std::optional<std::string> find_bearer_token(const EnvLookup& env, unsigned uid,
                                             const fs::path& root) {
  auto from_file = [&](const fs::path& p, bool named) -> std::optional<std::string> {
    auto t = read_file(p, 1 << 20);
    if (!t) {
      if (named) throw Error("BEARER_TOKEN_FILE names " + p.string() + ", which does not exist");
      return std::nullopt;
    }
    auto s = std::string(trim(*t));
    if (s.empty()) throw Error("bearer token file " + p.string() + " is empty");
    return s;
  };
  if (auto t = env("BEARER_TOKEN")) {
    auto s = std::string(trim(*t));
    if (!s.empty()) return s;
  }
  if (auto f = env("BEARER_TOKEN_FILE")) return from_file(under(root, *f), true);
  std::string name = "bt_u" + std::to_string(uid);
  if (auto x = env("XDG_RUNTIME_DIR"))
    if (auto t = from_file(under(root, fs::path(*x) / name), false)) return t;
  return from_file(under(root, fs::path("/tmp") / name), false);
}

std::string dn_text(const X509_NAME* name) {
  std::string out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char* sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
    char oid[80];
    if (!sn) {
      OBJ_obj2txt(oid, sizeof oid, X509_NAME_ENTRY_get_object(e), 1);
      sn = oid;
    }
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    out += '/';
    out += sn;
    out += '=';
    if (n > 0) out.append(reinterpret_cast<char*>(utf8), n);
    OPENSSL_free(utf8);
  }
  return out;
}

bool is_proxy_certificate(X509* cert) {
  return is_proxy(cert);
}

std::chrono::system_clock::time_point asn1_time_point(const ASN1_TIME* t) {
  struct tm tm {};
  if (!ASN1_TIME_to_tm(t, &tm)) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace pilot::dirac
