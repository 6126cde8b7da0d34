#include "stomp_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/http.hpp"
#include "core/tls_verify.hpp"

namespace pilot::monitor {
namespace {

using Clock = StompTransport::Clock;

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

int ms_left(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 1 << 30));
}

// false when the deadline passed first. In slices, so that giving up takes effect within one.
bool wait_for(int fd, short events, Clock::time_point deadline, const std::atomic<bool>* give_up) {
  pollfd p{fd, events, 0};
  for (;;) {
    if (give_up && *give_up)
      throw StompError(StompErrorKind::timeout, "given up: the publisher is stopping");
    int ms = ms_left(deadline);
    int n = ::poll(&p, 1, give_up ? std::min(ms, 100) : ms);
    if (n > 0) return true;
    if (n == 0 && (!give_up || ms <= 100)) return false;
    if (n < 0 && errno != EINTR) throw StompError(StompErrorKind::transport, std::strerror(errno));
  }
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// OpenSSL's socket BIO writes with write(2), and a broker that has closed the connection would
// then kill the pilot with SIGPIPE. This BIO sends with MSG_NOSIGNAL instead, so no signal mask
// has to be juggled around every call.
int bio_write(BIO* b, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(static_cast<int>(BIO_get_fd(b, nullptr)), data, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(b);
  return 0;
}

int bio_read(BIO* b, char* data, size_t len, size_t* got) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(static_cast<int>(BIO_get_fd(b, nullptr)), data, len, 0);
  if (n > 0) {
    *got = static_cast<size_t>(n);
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
  return 0;
}

long bio_ctrl(BIO* b, int cmd, long num, void* ptr) {
  switch (cmd) {
    case BIO_C_SET_FD:
      BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(*static_cast<int*>(ptr))));
      BIO_set_init(b, 1);
      return 1;
    case BIO_C_GET_FD:
      return static_cast<long>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      (void)num;
      return 0;
  }
}

// Built once; OpenSSL keeps it for the process's life.
BIO_METHOD* nosignal_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "stomp socket");
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  return method;
}

}  // namespace

struct StompTransport::Impl {
  std::string where;
  const std::atomic<bool>* give_up = nullptr;
  tls::VerifyFailure verify_failure;  // filled during the handshake; outlives ctx
  std::optional<http::TcpConnection> conn;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{nullptr, SSL_CTX_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{nullptr, SSL_free};

  [[noreturn]] void fail(StompErrorKind kind, const std::string& what) const {
    throw StompError(kind, where + ": " + what);
  }
  void make_context(const StompSettings& s);
  void handshake(const std::string& host, Clock::time_point deadline);
  // Waits as OpenSSL asked, or throws for a real failure.
  void settle(int rc, Clock::time_point deadline, const char* step);
};

void StompTransport::Impl::make_context(const StompSettings& s) {
  ERR_clear_error();
  ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx) fail(StompErrorKind::tls, "cannot create a TLS context: " + openssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (s.ca_dir.empty() && s.ca_file.empty())
    fail(StompErrorKind::tls, "TLS needs a CA directory or file to verify the broker");
  const char* file = s.ca_file.empty() ? nullptr : s.ca_file.c_str();
  const char* dir = s.ca_dir.empty() ? nullptr : s.ca_dir.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), file, dir) != 1)
    fail(StompErrorKind::tls, "cannot use the CAs " + (file ? s.ca_file.string() : "") +
                                  (file && dir ? " and " : "") + (dir ? s.ca_dir.string() : "") +
                                  ": " + openssl_errors());
  tls::record_verify_failure(ctx.get(), &verify_failure);
}

void StompTransport::Impl::settle(int rc, Clock::time_point deadline, const char* step) {
  int err = SSL_get_error(ssl.get(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    if (!wait_for(conn->fd(), err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline, give_up))
      fail(StompErrorKind::timeout, std::string(step) + ": no progress within the time-out");
    return;
  }
  int saved_errno = errno;
  std::string errors = openssl_errors();
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errors.empty()) ||
      errors.find("unexpected eof") != std::string::npos)
    fail(StompErrorKind::transport,
         std::string(step) + ": connection closed by the broker" +
             (saved_errno ? std::string(": ") + std::strerror(saved_errno) : ""));
  fail(StompErrorKind::transport, std::string(step) + ": " + errors);
}

void StompTransport::Impl::handshake(const std::string& host, Clock::time_point deadline) {
  ssl.reset(SSL_new(ctx.get()));
  if (!ssl) fail(StompErrorKind::tls, "SSL_new: " + openssl_errors());
  BIO* bio = BIO_new(nosignal_method());
  int fd = conn->fd();
  BIO_ctrl(bio, BIO_C_SET_FD, 0, &fd);
  SSL_set_bio(ssl.get(), bio, bio);
  if (is_ip_literal(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    SSL_set1_host(ssl.get(), host.c_str());
  }
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl.get());
    if (rc == 1) return;
    long verify = SSL_get_verify_result(ssl.get());
    if (verify != X509_V_OK)
      fail(StompErrorKind::tls, tls::describe_verify_failure(verify_failure, verify));
    int err = SSL_get_error(ssl.get(), rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      std::string errors = openssl_errors();
      fail(StompErrorKind::tls,
           "TLS handshake failed: " + (errors.empty() ? "connection closed" : errors));
    }
    settle(rc, deadline, "TLS handshake");
  }
}

StompTransport::StompTransport(const StompSettings& s, Clock::time_point deadline,
                               const std::atomic<bool>* give_up)
    : impl_(std::make_unique<Impl>()) {
  impl_->give_up = give_up;
  impl_->where =
      std::string(s.tls ? "stomp+ssl://" : "stomp://") + s.host + ":" + std::to_string(s.port);
  if (s.tls) impl_->make_context(s);
  try {
    impl_->conn.emplace(s.host, s.port, std::chrono::milliseconds(std::max(ms_left(deadline), 1)),
                        give_up);
  } catch (const http::TransportError& e) {
    impl_->fail(e.timeout ? StompErrorKind::timeout : StompErrorKind::transport, e.what());
  }
  if (s.tls) impl_->handshake(s.host, deadline);
}

StompTransport::~StompTransport() {
  // A courtesy close_notify; the socket is non-blocking, so this never waits.
  if (impl_->ssl) SSL_shutdown(impl_->ssl.get());
}

void StompTransport::write_all(std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    if (impl_->ssl) {
      ERR_clear_error();
      std::size_t written = 0;
      int rc = SSL_write_ex(impl_->ssl.get(), bytes.data(), bytes.size(), &written);
      if (rc == 1) {
        bytes.remove_prefix(written);
        continue;
      }
      impl_->settle(rc, deadline, "write");
      continue;
    }
    ssize_t n = ::send(impl_->conn->fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (!wait_for(impl_->conn->fd(), POLLOUT, deadline, impl_->give_up))
        impl_->fail(StompErrorKind::timeout, "write: the broker takes nothing within the time-out");
    } else {
      impl_->fail(StompErrorKind::transport, std::string("write: ") + std::strerror(errno));
    }
  }
}

std::string StompTransport::read_some(Clock::time_point deadline) {
  char buf[16384];
  for (;;) {
    if (impl_->ssl) {
      ERR_clear_error();
      std::size_t got = 0;
      int rc = SSL_read_ex(impl_->ssl.get(), buf, sizeof buf, &got);
      if (rc == 1) return std::string(buf, got);
      int err = SSL_get_error(impl_->ssl.get(), rc);
      if (err == SSL_ERROR_WANT_READ &&
          !wait_for(impl_->conn->fd(), POLLIN, deadline, impl_->give_up))
        return {};
      if (err == SSL_ERROR_WANT_READ) continue;
      impl_->settle(rc, deadline, "read");
      continue;
    }
    ssize_t n = ::recv(impl_->conn->fd(), buf, sizeof buf, 0);
    if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
    if (n == 0) impl_->fail(StompErrorKind::transport, "read: connection closed by the broker");
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      impl_->fail(StompErrorKind::transport, std::string("read: ") + std::strerror(errno));
    if (!wait_for(impl_->conn->fd(), POLLIN, deadline, impl_->give_up)) return {};
  }
}

}  // namespace pilot::monitor
