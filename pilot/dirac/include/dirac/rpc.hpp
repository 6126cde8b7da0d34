#pragma once
// One DIRAC RPC over either transport, chosen by the URL scheme: `dips://host:port/System/Service`
// speaks DISET (TLS socket, length-prefixed DEncode or JSON frames), `https://host:port/System/
// Component` speaks DIRAC's Tornado HTTPS protocol (form POST, JSON reply). A service has several
// URLs: they are tried in order until one answers; failures that would fail the same way anywhere
// (credentials refused, unknown method) stop at once, as DIRAC's own client does.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dirac/credentials.hpp"
#include "dirac/value.hpp"

namespace pilot::dirac {

struct RpcOptions {
  Credentials credentials;
  std::optional<std::string> bearer_token;  // HTTPS only: "Authorization: Bearer"
  std::string setup;                        // DIRAC setup, e.g. "LHCb-Production"
  std::string vo;                           // e.g. "lhcb"
  std::string client_version = "v8.0.55";   // the DIRAC version the pilot speaks as
  bool diset_json = false;  // DISET payloads as JSON (DIRAC v9) rather than DEncode (v8)
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{60000};  // per step: handshake, each send, each receive
  std::size_t max_reply = 64 << 20;
  // Shared by every copy of these options; set (by any thread) when the pilot stops waiting for
  // the server: a call in flight ends within about a second and later ones are not sent, both
  // with ErrorKind::given_up. Null: calls run to their timeouts.
  std::shared_ptr<std::atomic<bool>> give_up;
};

// A service's answer: S_OK (ok, value) or S_ERROR (message, errno_value).
struct Reply {
  bool ok = false;
  Value value;
  std::string message;
  std::int64_t errno_value = 0;
};

enum class ErrorKind {
  transport,  // connect refused, name resolution, connection lost
  timeout,    // a step took longer than its timeout
  auth,       // certificate not verified, our credentials refused, 401/403, "Unauthorized query"
  protocol,   // malformed frame, undecodable or non-DIRAC reply
  server,     // 500, or an S_ERROR before the call reached the handler
  not_found,  // 404: no such service path
  unknown_method,  // 501
  given_up,        // the pilot stopped waiting (RpcOptions::give_up)
};
std::string_view kind_name(ErrorKind kind);

// A call that got no service answer. The message names the URL, the step and the reason.
struct RpcError : Error {
  RpcError(ErrorKind k, const std::string& what) : Error(what), kind(k) {}
  ErrorKind kind;
  // Whether another URL of the same service may do better (DIRAC: all but 401/403/501).
  bool retryable() const {
    return kind != ErrorKind::auth && kind != ErrorKind::unknown_method &&
           kind != ErrorKind::given_up;
  }
};

// Reads an S_OK/S_ERROR dictionary. Throws RpcError(protocol) when `v` is not one.
Reply parse_reply(const Value& v, std::string_view where);

// One call on one URL (dips:// or https://). Throws RpcError.
Reply call_once(const std::string& url, std::string_view method, const List& args,
                const RpcOptions& options);

// One call over the URLs of a service, in order, moving on after retryable failures (logged as
// warnings). Throws the last RpcError, its message listing every URL's failure.
Reply call(const std::vector<std::string>& urls, std::string_view method, const List& args,
           const RpcOptions& options, const log::Logger& log = {});

// Implementation pieces, exposed for tests and the `pilot dirac call` command.
Reply diset_call(const std::string& url, std::string_view method, const List& args,
                 const RpcOptions& options);
Reply https_call(const std::string& url, std::string_view method, const List& args,
                 const RpcOptions& options);
// Both refuse a proxy or certificate that has expired or is not valid yet before connecting
// (RpcError auth naming the file and its validity dates): the server's TLS alert would only say
// "certificate expired", naming neither.
void check_own_credential(const std::string& url, std::string_view method,
                          const Credentials& credentials);

// "dips://host:port/System/Service" split into its parts. Throws pilot::Error on anything else.
struct ServiceUrl {
  std::string scheme, host;
  int port = 0;
  std::string path;  // "System/Service", no leading slash
};
ServiceUrl parse_service_url(std::string_view url);

// Another service on the server of `url`: for dips, `dips_port` and `dips_path` (each DISET
// service has its own port); for https, `https_path` on the same host and port (one Tornado
// server serves them all).
std::string sibling_service_url(const std::string& url, int dips_port, std::string_view dips_path,
                                std::string_view https_path);

}  // namespace pilot::dirac
