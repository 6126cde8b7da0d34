#pragma once
// A blocking-with-deadlines TLS client socket over OpenSSL for DISET: verifies the server against
// the CA directory (proxies allowed in chains) and its host name, presents the pilot's whole
// certificate chain, and classifies failures as RpcError kinds.

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/http.hpp"
#include "core/tls_verify.hpp"
#include "dirac/rpc.hpp"

namespace pilot::dirac::detail {

using Clock = std::chrono::steady_clock;

class TlsSocket {
 public:
  // Connects and completes the handshake; throws RpcError naming `where`.
  TlsSocket(const ServiceUrl& url, const RpcOptions& options, std::string where);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  void write_all(std::string_view data, Clock::time_point deadline, std::string_view step);
  // Some bytes (at least one); throws on EOF, error or deadline.
  std::string read_some(Clock::time_point deadline, std::string_view step);

 private:
  [[noreturn]] void fail_io(int rc, std::string_view step);
  void quick_ack();
  void wait(int ssl_error, Clock::time_point deadline, std::string_view step);

  std::string where_;
  std::shared_ptr<std::atomic<bool>> give_up_;  // RpcOptions::give_up
  bool read_anything_ = false;
  tls::VerifyFailure verify_failure_;        // filled by the verification callback; outlives ctx_
  std::optional<http::TcpConnection> conn_;  // before ssl_: SSL_free runs first
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_{nullptr, SSL_CTX_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_{nullptr, SSL_free};
};

}  // namespace pilot::dirac::detail
