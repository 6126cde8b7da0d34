#include "core/http.hpp"

#include <curl/curl.h>

#include <fcntl.h>

#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "core/tls_verify.hpp"

namespace pilot::http {
namespace {

// curl_global_init is not thread-safe; a function-local static runs it exactly once.
void global_init() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    throw Error(std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
}

struct Sink {
  std::string* body;
  std::size_t max;
  bool overflow = false;
};

// libcurl's progress callback, also called while nothing moves: non-zero aborts the transfer.
int on_progress(void* give_up, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(give_up)->load() ? 1 : 0;
}

constexpr const char* kGivenUp = "given up: the caller stopped waiting";

// A set `give_up` aborts the transfer (CURLE_ABORTED_BY_CALLBACK) within libcurl's progress
// interval, about a second.
void abort_when_given_up(CURL* c, const std::atomic<bool>* give_up) {
  if (!give_up) return;
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(give_up));
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

std::size_t on_data(char* ptr, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  std::size_t len = size * n;
  if (s->body->size() + len > s->max) {
    s->overflow = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  s->body->append(ptr, len);
  return len;
}

// Runs on each TLS context libcurl makes for this request (OpenSSL backend): records why the
// server's certificate was refused.
CURLcode on_ssl_ctx(CURL*, void* ssl_ctx, void* sink) {
  tls::record_verify_failure(static_cast<ssl_ctx_st*>(ssl_ctx),
                             static_cast<tls::VerifyFailure*>(sink));
  return CURLE_OK;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// The transfer itself; `sink` and `errbuf` must outlive it (the handle keeps their addresses).
void set_transfer_options(CURL* c, const Request& req, Sink& sink, char* errbuf) {
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  abort_when_given_up(c, req.give_up);
  // Proxies from the node's environment would silently reroute calls to the WMS.
  curl_easy_setopt(c, CURLOPT_PROXY, "");
}

void set_method(CURL* c, const Request& req) {
  if (req.method == "POST" || req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method == "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
}

// libcurl reads the returned list during the transfer: the caller keeps it until then.
std::unique_ptr<curl_slist, SlistDeleter> set_headers(CURL* c, const Request& req) {
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : req.headers) {
    std::string line = name + ": " + value;
    curl_slist* l = curl_slist_append(headers.get(), line.c_str());
    if (!l) throw Error("cannot build the headers for " + req.url);
    headers.release();
    headers.reset(l);
  }
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  return headers;
}

// What a refused server certificate is explained with.
struct Trust {
  std::optional<std::filesystem::path> ca_file;
  tls::VerifyFailure verify_failure;  // libcurl keeps its address until the transfer ends
};

void set_tls_options(CURL* c, const TlsOptions& tls, Trust& trust) {
  trust.ca_file = !tls.ca_file.empty()    ? std::optional(tls.ca_file)
                  : tls.default_ca_bundle ? find_ca_bundle()
                                          : std::nullopt;
  curl_easy_setopt(c, CURLOPT_CAINFO, trust.ca_file ? trust.ca_file->c_str() : nullptr);
  curl_easy_setopt(c, CURLOPT_CAPATH, tls.ca_dir.empty() ? nullptr : tls.ca_dir.c_str());
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, tls.verify_peer ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, tls.verify_host ? 2L : 0L);
  if (tls.verify_peer) {
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &trust.verify_failure);
  }
  if (!tls.client_cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls.client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY,
                     (tls.client_key.empty() ? tls.client_cert : tls.client_key).c_str());
  }
}

std::string describe_refused_certificate(const std::string& why, const Trust& trust,
                                         const TlsOptions& tls) {
  // libcurl checks the host name itself, after OpenSSL accepted the chain: only its text
  // names that reason.
  std::string out = trust.verify_failure.error ? tls::describe_verify_failure(trust.verify_failure)
                                               : "certificate verify failed: " + why;
  std::string trusted = trust.ca_file ? "CA file " + trust.ca_file->string() : "";
  if (!tls.ca_dir.empty())
    trusted += (trusted.empty() ? "" : ", ") + ("CA directory " + tls.ca_dir.string());
  return out + " (" + (trusted.empty() ? std::string("no CA configured") : trusted) + ")";
}

std::string failure_reason(CURLcode rc, const Request& req, const Sink& sink, const char* errbuf,
                           const Trust& trust, const TlsOptions& tls) {
  if (rc == CURLE_ABORTED_BY_CALLBACK) return kGivenUp;
  std::string why = sink.overflow ? "reply larger than " + std::to_string(req.max_body) + " bytes"
                                  : (errbuf[0] ? errbuf : curl_easy_strerror(rc));
  if (rc == CURLE_PEER_FAILED_VERIFICATION) return describe_refused_certificate(why, trust, tls);
  return why;
}

bool is_tls_failure(CURLcode rc, const char* errbuf) {
  return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
         rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
         rc == CURLE_SSL_CLIENTCERT ||
         (rc == CURLE_RECV_ERROR &&
          std::string_view(errbuf).find("alert") != std::string_view::npos);
}

// The body is already in `resp` (on_data).
void collect_response(CURL* c, Response& resp) {
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  char* ct = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) resp.content_type = ct;
}

}  // namespace

Response perform(const Request& req, const TlsOptions& tls) {
  global_init();
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) throw Error("cannot create a libcurl handle for " + req.url);
  CURL* c = curl.get();
  Response resp;
  Sink sink{&resp.body, req.max_body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  set_transfer_options(c, req, sink, errbuf);
  set_method(c, req);
  auto headers = set_headers(c, req);
  Trust trust;
  set_tls_options(c, tls, trust);

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    throw TransportError(req.method + " " + req.url +
                             " failed: " + failure_reason(rc, req, sink, errbuf, trust, tls),
                         is_tls_failure(rc, errbuf), rc == CURLE_OPERATION_TIMEDOUT,
                         rc == CURLE_ABORTED_BY_CALLBACK);
  collect_response(c, resp);
  return resp;
}

TcpConnection::TcpConnection(const std::string& host, int port,
                             std::chrono::milliseconds connect_timeout,
                             const std::atomic<bool>* give_up) {
  global_init();
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  std::string where = host + ":" + std::to_string(port);
  if (!curl) throw Error("cannot create a libcurl handle for " + where);
  CURL* c = curl.get();
  bool ipv6 = host.find(':') != std::string::npos;
  std::string url = "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/";
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  abort_when_given_up(c, give_up);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    throw TransportError("cannot connect to " + where + ": " + kGivenUp, false, false, true);
  if (rc != CURLE_OK)
    throw TransportError(
        "cannot connect to " + where + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)), false,
        rc == CURLE_OPERATION_TIMEDOUT);
  curl_socket_t sock = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD)
    throw TransportError("cannot connect to " + where + ": libcurl gave no socket", false, false);
  // libcurl may open sockets without SOCK_CLOEXEC; payloads must not inherit this one.
  ::fcntl(sock, F_SETFD, ::fcntl(sock, F_GETFD) | FD_CLOEXEC);
  fd_ = sock;
  handle_ = curl.release();
}

TcpConnection::~TcpConnection() {
  if (handle_) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  global_init();
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    for (const std::string* part : {&name, &value}) {
      char* enc = curl_easy_escape(curl.get(), part->data(), static_cast<int>(part->size()));
      if (!enc) throw Error("cannot URL-encode the form field " + name);
      out += enc;
      curl_free(enc);
      if (part == &name) out += '=';
    }
  }
  return out;
}

std::optional<std::filesystem::path> find_ca_bundle(const std::filesystem::path& root) {
  for (const char* var : {"PILOT_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"}) {
    const char* v = std::getenv(var);
    if (v && *v) return std::filesystem::path(v);
  }
  for (const char* p :
       {"etc/pki/tls/certs/ca-bundle.crt", "etc/ssl/certs/ca-certificates.crt",
        "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "etc/ssl/ca-bundle.pem"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(root / p, ec)) return root / p;
  }
  return std::nullopt;
}

std::string curl_version() {
  return curl_version_info(CURLVERSION_NOW)->version;
}

}  // namespace pilot::http
