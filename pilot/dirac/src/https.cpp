// DIRAC's HTTPS (Tornado) RPC: POST a form with method, args (JSON list), extraCredentials,
// clientVO and clientSetup; HTTP 200 carries the JSON S_OK/S_ERROR, other statuses carry HTML.

#include "core/http.hpp"
#include "dirac/codec.hpp"
#include "dirac/rpc.hpp"
#include "tls_socket.hpp"

namespace pilot::dirac {
namespace {

// The readable part of an HTML error page, short enough for a log line.
std::string html_summary(const std::string& body) {
  std::string text;
  bool in_tag = false;
  for (char c : body) {
    if (c == '<')
      in_tag = true;
    else if (c == '>') {
      in_tag = false;
      text += ' ';
    } else if (!in_tag)
      text += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  std::string out;
  for (char c : text)
    if (c != ' ' || (!out.empty() && out.back() != ' ')) out += c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.size() > 200 ? out.substr(0, 200) + "..." : out;
}

// libcurl reports a server that refuses our certificate after a TLS 1.3 handshake (the client's
// side of the handshake is over before the server has judged it) as a broken connection
// ("getpeername() failed", "Connection reset by peer"): it never reads the server's alert. One
// more handshake with the DISET socket, which does read it, names the real reason; nullopt when
// the server did not refuse us.
std::optional<std::string> refusal_of_our_credentials(const ServiceUrl& u,
                                                      const RpcOptions& options,
                                                      const std::string& where) {
  RpcOptions probe = options;
  probe.timeout = std::min(options.timeout, std::chrono::milliseconds(2000));
  try {
    detail::TlsSocket sock(u, probe, where);
    sock.read_some(detail::Clock::now() + probe.timeout, "TLS handshake");
  } catch (const RpcError& e) {
    if (e.kind == ErrorKind::auth) return std::string(e.what());
  } catch (const Error&) {
  }
  return std::nullopt;
}

}  // namespace

Reply https_call(const std::string& url, std::string_view method, const List& args,
                 const RpcOptions& options) {
  ServiceUrl u = parse_service_url(url);
  if (u.scheme != "https") throw Error("not an HTTPS URL: " + url);
  std::string where = url + " " + std::string(method);
  check_own_credential(url, method, options.credentials);

  std::vector<std::pair<std::string, std::string>> form{{"method", std::string(method)},
                                                        {"args", json_encode(Value(args))}};
  if (options.credentials.host) form.emplace_back("extraCredentials", "\"hosts\"");
  form.emplace_back("clientVO", options.vo);
  form.emplace_back("clientSetup", options.setup);

  http::Request req;
  req.method = "POST";
  req.url = url;
  req.body = http::form_encode(form);
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  if (options.bearer_token)
    req.headers.emplace_back("Authorization", "Bearer " + *options.bearer_token);
  req.connect_timeout = options.connect_timeout;
  req.timeout = options.timeout;
  req.max_body = options.max_reply;
  req.give_up = options.give_up.get();

  http::TlsOptions tls;
  tls.ca_dir = options.credentials.ca_dir;
  tls.default_ca_bundle = false;  // grid services are trusted through the grid CA directory only
  tls.client_cert = options.credentials.cert;
  tls.client_key = options.credentials.key;

  http::Response resp;
  try {
    resp = http::perform(req, tls);
  } catch (const http::TransportError& e) {
    if (e.given_up) throw RpcError(ErrorKind::given_up, where + ": " + e.what());
    ErrorKind kind = e.timeout ? ErrorKind::timeout
                     : e.tls   ? ErrorKind::auth
                               : ErrorKind::transport;
    // A TLS alert from the server: it judged our certificate (unknown CA, expired, not a proxy).
    std::string_view what = e.what();
    bool refused = e.tls && what.find("alert") != std::string_view::npos;
    if (!e.tls && !e.timeout && !options.credentials.cert.empty() &&
        what.find("Failed to connect") == what.npos && what.find("Could not resolve") == what.npos)
      if (auto why = refusal_of_our_credentials(u, options, where))
        throw RpcError(ErrorKind::auth, *why);
    throw RpcError(
        kind, where + ": " + (refused ? "the server refused our credentials: " : "") + e.what());
  }
  if (resp.status == 200) {
    Value v;
    try {
      v = json_decode(resp.body, DecodeLimits{});
    } catch (const Error& e) {
      throw RpcError(ErrorKind::protocol, where + ": HTTP 200 without a JSON body: " + e.what());
    }
    return parse_reply(v, where);
  }
  std::string msg =
      where + ": HTTP " + std::to_string(resp.status) + ": " + html_summary(resp.body);
  switch (resp.status) {
    case 401:
    case 403:
      throw RpcError(ErrorKind::auth,
                     msg + (options.credentials.host ? "" : " (credentials refused)"));
    case 404:
      throw RpcError(ErrorKind::not_found, msg + " (no such service path)");
    case 501:
      throw RpcError(ErrorKind::unknown_method,
                     msg + " (the service has no method " + std::string(method) + ")");
    case 500:
      throw RpcError(ErrorKind::server, msg + " (server exception)");
    default:
      throw RpcError(resp.status >= 500 ? ErrorKind::server : ErrorKind::protocol, msg);
  }
}

}  // namespace pilot::dirac
