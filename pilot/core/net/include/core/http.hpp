#pragma once
// HTTP(S) requests through libcurl with the TLS settings the whole pilot shares: the CA bundle and
// the grid CA directory are chosen at run time (nothing is compiled in), the peer and its host
// name are always verified unless a caller turns that off explicitly, and every request has a
// connect timeout and a total timeout.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace pilot::http {

struct TlsOptions {
  std::filesystem::path ca_file;      // PEM bundle; empty: find_ca_bundle()
  std::filesystem::path ca_dir;       // hashed CA directory (X509_CERT_DIR); empty: none
  std::filesystem::path client_cert;  // PEM; an X.509 proxy file holds cert, key and chain
  std::filesystem::path client_key;   // PEM; empty: taken from client_cert
  bool default_ca_bundle = true;      // false: trust only ca_file / ca_dir (grid services)
  bool verify_peer = true;
  bool verify_host = true;
};

// A request that got no HTTP reply at all. `tls`: the TLS handshake failed (certificate not
// verified, or the peer refused ours); `timeout`: the connect or total timeout expired;
// `given_up`: the caller's give_up flag stopped it.
struct TransportError : Error {
  TransportError(const std::string& what, bool tls_failure, bool timed_out, bool gave_up = false)
      : Error(what), tls(tls_failure), timeout(timed_out), given_up(gave_up) {}
  bool tls = false;
  bool timeout = false;
  bool given_up = false;
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // "Name", "value"
  std::string body;                                          // sent for POST/PUT
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  std::size_t max_body = 64 << 20;  // larger replies fail instead of filling memory
  // Set (by another thread) when the caller stops waiting: the transfer ends within about a
  // second (libcurl's progress interval), TransportError::given_up. Null: never.
  const std::atomic<bool>* give_up = nullptr;
};

struct Response {
  long status = 0;
  std::string body;
  std::string content_type;
  bool ok() const { return status >= 200 && status < 300; }
};

// Performs the request. Any HTTP status is a Response; a transport failure (refused, timeout,
// TLS verification, name resolution, oversized body) throws TransportError naming the URL and
// curl's reason.
Response perform(const Request& request, const TlsOptions& tls = {});

// A plain TCP connection opened by libcurl, for protocols libcurl does not speak (DISET): name
// resolution goes through libcurl's resolver (c-ares in the static build, never the node's NSS
// modules) and the connect timeout applies; `give_up` as in Request. The socket is non-blocking
// and close-on-exec; it is closed when the object goes out of scope.
class TcpConnection {
 public:
  TcpConnection(const std::string& host, int port, std::chrono::milliseconds connect_timeout,
                const std::atomic<bool>* give_up = nullptr);
  TcpConnection(TcpConnection&& o) noexcept : handle_(o.handle_), fd_(o.fd_) {
    o.handle_ = nullptr, o.fd_ = -1;
  }
  TcpConnection& operator=(TcpConnection&&) = delete;
  TcpConnection(const TcpConnection&) = delete;
  ~TcpConnection();
  int fd() const { return fd_; }

 private:
  void* handle_ = nullptr;  // the CURL easy handle owning the socket
  int fd_ = -1;
};

// application/x-www-form-urlencoded body from name/value pairs, in order.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// The CA bundle to use when none is configured: $PILOT_CA_BUNDLE, $SSL_CERT_FILE,
// $CURL_CA_BUNDLE, then the first existing of the usual EL and Debian locations under `root`.
std::optional<std::filesystem::path> find_ca_bundle(const std::filesystem::path& root = "/");

// libcurl's version text, for diagnostics.
std::string curl_version();

}  // namespace pilot::http
