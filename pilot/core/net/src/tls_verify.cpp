#include "core/tls_verify.hpp"

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <ctime>

namespace pilot::tls {
namespace {

// The ex_data slot of an SSL_CTX that holds its VerifyFailure sink; allocated once per process.
int sink_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string name_text(const X509_NAME* name) {
  char* s = X509_NAME_oneline(name, nullptr, 0);  // "/C=ch/O=DIRAC/CN=x", DIRAC's layout
  std::string out = s ? s : "";
  OPENSSL_free(s);
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || !ASN1_TIME_to_tm(t, &tm)) return "?";
  return utc_text(static_cast<long long>(timegm(&tm)));
}

int on_verify(int ok, X509_STORE_CTX* store) {
  if (ok) return ok;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* sink =
      ssl ? static_cast<VerifyFailure*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sink_index()))
          : nullptr;
  if (sink && sink->error == 0) {
    sink->error = X509_STORE_CTX_get_error(store);
    sink->depth = X509_STORE_CTX_get_error_depth(store);
    if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
      sink->subject = name_text(X509_get_subject_name(cert));
      sink->issuer = name_text(X509_get_issuer_name(cert));
      sink->not_before = time_text(X509_get0_notBefore(cert));
      sink->not_after = time_text(X509_get0_notAfter(cert));
    }
  }
  return ok;
}

}  // namespace

void record_verify_failure(ssl_ctx_st* ctx, VerifyFailure* sink) {
  SSL_CTX_set_ex_data(ctx, sink_index(), sink);
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), on_verify);
}

std::string describe_verify_failure(const VerifyFailure& f, long error) {
  long code = f.error ? f.error : error;
  std::string out = "certificate verify failed: ";
  out += code ? X509_verify_cert_error_string(code) : "unknown reason";
  if (!f.subject.empty()) {
    out += " (" + std::string(f.depth == 0 ? "server certificate " : "certificate ") + f.subject;
    if (f.issuer != f.subject)
      out += " issued by " + f.issuer;
    else
      out += ", self-signed";
    out += ", valid from " + f.not_before + " to " + f.not_after + ")";
  }
  return out;
}

std::string utc_text(long long epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace pilot::tls
