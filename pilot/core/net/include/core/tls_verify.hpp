#pragma once
// Why a server's certificate was not accepted, in words an operator can act on. Both TLS clients
// of the pilot (libcurl for HTTPS, the DISET socket) install the same verification callback on
// their OpenSSL context: it keeps the first certificate that failed, with its subject, issuer and
// validity dates, and the OpenSSL reason, so the error says "certificate has expired ... valid
// until 2020-01-02" rather than a bare "handshake failed".

#include <string>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace pilot::tls {

struct VerifyFailure {
  int error = 0;  // X509_V_ERR_*; 0: nothing failed (yet)
  int depth = 0;  // 0: the server's own certificate
  std::string subject, issuer, not_before, not_after;
};

// Keeps OpenSSL's verdict but records the first failure in `*sink` (which must outlive every
// handshake on `ctx`). Peer verification itself is configured by the caller.
void record_verify_failure(ssl_ctx_st* ctx, VerifyFailure* sink);

// "certificate verify failed: certificate has expired (server certificate /C=ch/CN=localhost
// issued by /C=ch/CN=CA, valid from 2020-01-01 00:00:00 UTC to 2020-01-02 00:00:00 UTC)".
// `error` is used when `failure` recorded nothing (a host name mismatch found after the chain).
std::string describe_verify_failure(const VerifyFailure& failure, long error = 0);

// "2020-01-02 00:00:00 UTC", for validity dates in messages.
std::string utc_text(long long epoch_seconds);

}  // namespace pilot::tls
