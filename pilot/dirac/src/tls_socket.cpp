#include "tls_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "core/trace.hpp"

namespace pilot::dirac::detail {
namespace {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(std::min<long long>(ms, 1 << 30));
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A TLS alert from the server during or right after the handshake means it refused our
// certificate (unknown CA, expired, not a valid proxy...).
bool peer_alert(const std::string& errors) {
  return errors.find("alert") != std::string::npos;
}

// Writing to a socket the server has closed raises SIGPIPE, which would kill the pilot; OpenSSL's
// socket BIO cannot pass MSG_NOSIGNAL. The signal is blocked in this thread while writing and a
// pending one is consumed before it is unblocked.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false;
};

}  // namespace

TlsSocket::TlsSocket(const ServiceUrl& url, const RpcOptions& options, std::string where)
    : where_(std::move(where)), give_up_(options.give_up) {
  const Credentials& cred = options.credentials;
  std::optional<trace::Phase> step(std::in_place, "tls.context");
  ERR_clear_error();
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx_) throw Error(where_ + ": cannot create a TLS context: " + openssl_errors());
  SSL_CTX* ctx = ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (cred.ca_dir.empty()) throw RpcError(ErrorKind::auth, where_ + ": no CA directory configured");
  if (SSL_CTX_load_verify_locations(ctx, nullptr, cred.ca_dir.c_str()) != 1)
    throw RpcError(ErrorKind::auth, where_ + ": cannot use the CA directory " +
                                        cred.ca_dir.string() + ": " + openssl_errors());
  X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_ALLOW_PROXY_CERTS);
  tls::record_verify_failure(ctx, &verify_failure_);
  if (!cred.cert.empty()) {
    std::string key = (cred.key.empty() ? cred.cert : cred.key).string();
    // The whole chain: a proxy alone cannot be verified by the server.
    if (SSL_CTX_use_certificate_chain_file(ctx, cred.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
      throw RpcError(ErrorKind::auth,
                     where_ + ": cannot load the credential " + cred.cert.string() +
                         (cred.key.empty() ? "" : " / " + key) + ": " + openssl_errors());
  }

  step.emplace("tls.connect");
  try {
    conn_.emplace(url.host, url.port, options.connect_timeout, give_up_.get());
  } catch (const http::TransportError& e) {
    throw RpcError(e.given_up  ? ErrorKind::given_up
                   : e.timeout ? ErrorKind::timeout
                               : ErrorKind::transport,
                   where_ + ": " + e.what());
  }
  ssl_.reset(SSL_new(ctx));
  if (!ssl_) throw Error(where_ + ": SSL_new: " + openssl_errors());
  SSL* ssl = ssl_.get();
  SSL_set_fd(ssl, conn_->fd());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_ip_literal(url.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, url.host.c_str());
    SSL_set1_host(ssl, url.host.c_str());
  }
  step.emplace("tls.handshake");
  auto deadline = Clock::now() + options.timeout;
  SigpipeGuard guard;  // the handshake writes too, and the server may have reset the connection
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl);
    if (rc == 1) break;
    int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      wait(err, deadline, "TLS handshake");
      continue;
    }
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
      throw RpcError(ErrorKind::auth, where_ + ": TLS handshake: " +
                                          tls::describe_verify_failure(verify_failure_, verify) +
                                          " (server " + url.host + ":" + std::to_string(url.port) +
                                          ", CA directory " + cred.ca_dir.string() + ")");
    fail_io(rc, "TLS handshake");
  }
}

TlsSocket::~TlsSocket() {
  if (!ssl_) return;
  SigpipeGuard guard;  // after a reset, the close_notify write raised SIGPIPE and killed the pilot
  SSL_shutdown(ssl_.get());  // best effort close_notify; the socket is non-blocking
}

// What arrives while the pilot waits for a reply is acknowledged at once, not after the kernel's
// delayed-ACK timer (40 ms): a server that writes its TLS 1.3 session tickets and its answer
// with Nagle's algorithm on (Python's ssl, as DIRAC's) holds the answer back until the tickets
// are acknowledged, which cost every DISET call 40 ms. Linux leaves quick-ACK mode by itself,
// hence before every wait; elsewhere (or refused) the call is only slower.
void TlsSocket::quick_ack() {
#ifdef TCP_QUICKACK
  int on = 1;
  ::setsockopt(conn_->fd(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
#endif
}

void TlsSocket::wait(int ssl_error, Clock::time_point deadline, std::string_view step) {
  pollfd p{conn_->fd(), static_cast<short>(ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN),
           0};
  for (;;) {
    if (give_up_ && *give_up_)
      throw RpcError(ErrorKind::given_up,
                     where_ + ": " + std::string(step) +
                         ": given up: the pilot stopped waiting for the server");
    int ms = remaining_ms(deadline);
    if (ms == 0) break;
    if (p.events == POLLIN) quick_ack();
    // In slices, so that giving up takes effect within one.
    int n = ::poll(&p, 1, give_up_ ? std::min(ms, 100) : ms);
    if (n > 0) return;
    if (n < 0 && errno != EINTR)
      throw RpcError(ErrorKind::transport,
                     where_ + ": " + std::string(step) + ": poll: " + std::strerror(errno));
  }
  throw RpcError(ErrorKind::timeout,
                 where_ + ": " + std::string(step) + ": no progress within the timeout");
}

void TlsSocket::fail_io(int rc, std::string_view step) {
  int err = SSL_get_error(ssl_.get(), rc);
  int saved_errno = errno;
  std::string errors = openssl_errors();
  std::string prefix = where_ + ": " + std::string(step) + ": ";
  if (!peer_alert(errors) && !read_anything_) {
    // With TLS 1.3 the server judges our certificate after our handshake has completed; its
    // alert may be waiting behind a failed write. Read it to report the real reason.
    read_anything_ = true;
    pollfd p{conn_->fd(), POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char c;
      std::size_t got = 0;
      ERR_clear_error();
      if (SSL_read_ex(ssl_.get(), &c, 1, &got) != 1) {
        std::string more = openssl_errors();
        if (peer_alert(more)) errors = more;
      }
    }
  }
  if (peer_alert(errors))
    throw RpcError(ErrorKind::auth, prefix + "the server refused our credentials (" + errors + ")");
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errors.empty() && rc == 0) ||
      (err == SSL_ERROR_SSL && errors.find("unexpected eof") != std::string::npos))
    throw RpcError(ErrorKind::transport, prefix + "connection closed by the server");
  if (err == SSL_ERROR_SYSCALL)
    throw RpcError(ErrorKind::transport,
                   prefix + (errors.empty() ? std::string(std::strerror(saved_errno)) : errors));
  throw RpcError(ErrorKind::transport,
                 prefix + (errors.empty() ? "TLS error " + std::to_string(err) : errors));
}

void TlsSocket::write_all(std::string_view data, Clock::time_point deadline,
                          std::string_view step) {
  SigpipeGuard guard;
  while (!data.empty()) {
    ERR_clear_error();
    std::size_t written = 0;
    int rc = SSL_write_ex(ssl_.get(), data.data(), data.size(), &written);
    if (rc == 1) {
      data.remove_prefix(written);
      continue;
    }
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      wait(err, deadline, step);
      continue;
    }
    fail_io(rc, step);
  }
}

std::string TlsSocket::read_some(Clock::time_point deadline, std::string_view step) {
  SigpipeGuard guard;  // TLS 1.3 reads may write (key updates, alerts)
  char buf[16384];
  for (;;) {
    ERR_clear_error();
    std::size_t got = 0;
    int rc = SSL_read_ex(ssl_.get(), buf, sizeof buf, &got);
    if (rc == 1) {
      read_anything_ = true;
      return std::string(buf, got);
    }
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      wait(err, deadline, step);
      continue;
    }
    fail_io(rc, step);
  }
}

}  // namespace pilot::dirac::detail
