#include "dirac/rpc.hpp"

#include <charconv>

namespace pilot::dirac {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::transport:
      return "transport";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::auth:
      return "auth refused";
    case ErrorKind::protocol:
      return "malformed reply";
    case ErrorKind::server:
      return "server error";
    case ErrorKind::not_found:
      return "not found";
    case ErrorKind::unknown_method:
      return "unknown method";
    case ErrorKind::given_up:
      return "given up";
  }
  return "?";
}

ServiceUrl parse_service_url(std::string_view url) {
  ServiceUrl u;
  auto bad = [&](const std::string& why) {
    return Error(
        "service URL '" + std::string(url) + "': " + why +
        " (expected dips://host:port/System/Service or https://host:port/System/Component)");
  };
  auto sep = url.find("://");
  if (sep == std::string_view::npos) throw bad("no scheme");
  u.scheme = url.substr(0, sep);
  if (u.scheme != "dips" && u.scheme != "https") throw bad("unsupported scheme '" + u.scheme + "'");
  auto rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  std::string_view port_text;
  if (hostport.starts_with('[')) {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) throw bad("unclosed '[' in the host");
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      port_text = hostport.substr(close + 2);
  } else {
    auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
  }
  if (u.host.empty()) throw bad("no host");
  if (port_text.empty()) {
    u.port = u.scheme == "https" ? 443 : 0;
    if (!u.port) throw bad("no port (DISET services have no default port)");
  } else {
    auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), u.port);
    if (r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() || u.port < 1 ||
        u.port > 65535)
      throw bad("invalid port '" + std::string(port_text) + "'");
  }
  while (u.path.ends_with('/')) u.path.pop_back();
  if (u.path.find('/') == std::string::npos) throw bad("the path must be System/Service");
  return u;
}

std::string sibling_service_url(const std::string& url, int dips_port, std::string_view dips_path,
                                std::string_view https_path) {
  ServiceUrl u = parse_service_url(url);
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  if (u.scheme == "dips")
    return "dips://" + host + ":" + std::to_string(dips_port) + "/" + std::string(dips_path);
  return "https://" + host + ":" + std::to_string(u.port) + "/" + std::string(https_path);
}

Reply parse_reply(const Value& v, std::string_view where) {
  auto bad = [&](const std::string& why) {
    return RpcError(ErrorKind::protocol, std::string(where) + ": not a DIRAC result (" + why +
                                             "): " + to_debug_string(v).substr(0, 200));
  };
  if (!v.is<Dict>()) throw bad("not a dict");
  const Dict& d = v.as_dict();
  const Value* ok = d.find("OK");
  if (!ok || !ok->is<bool>()) throw bad("no boolean OK");
  Reply r;
  r.ok = ok->as_bool();
  if (r.ok) {
    if (const Value* val = d.find("Value")) r.value = *val;
    return r;
  }
  if (const Value* m = d.find("Message"); m && m->is<std::string>())
    r.message = m->as_string();
  else
    r.message = "(no message)";
  if (const Value* e = d.find("Errno"); e && e->is<std::int64_t>()) r.errno_value = e->as_int();
  return r;
}

void check_own_credential(const std::string& url, std::string_view method, const Credentials& c) {
  if (c.cert.empty()) return;  // bearer token only
  std::string where = url + " " + std::string(method) + ": not connecting: ";
  CertificateInfo info;
  try {
    info = read_certificate_info(c.cert);
  } catch (const Error& e) {
    throw RpcError(ErrorKind::auth, where + e.what());
  }
  auto check = check_lifetime(info, std::chrono::system_clock::now(), std::chrono::seconds(0),
                              std::chrono::seconds(0));
  if (!check.usable)
    throw RpcError(ErrorKind::auth, where + c.cert.string() + ": " + check.message);
}

Reply call_once(const std::string& url, std::string_view method, const List& args,
                const RpcOptions& options) {
  if (url.starts_with("dips://")) return diset_call(url, method, args, options);
  if (url.starts_with("https://")) return https_call(url, method, args, options);
  parse_service_url(url);  // throws the explanation
  throw Error("unsupported service URL " + url);
}

Reply call(const std::vector<std::string>& urls, std::string_view method, const List& args,
           const RpcOptions& options, const log::Logger& log) {
  if (urls.empty()) throw Error("no URL configured for the call " + std::string(method));
  std::string failures;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    if (options.give_up && *options.give_up)
      throw RpcError(ErrorKind::given_up,
                     urls[i] + " " + std::string(method) +
                         ": not sent: the pilot stopped waiting for the server");
    try {
      return call_once(urls[i], method, args, options);
    } catch (const RpcError& e) {
      failures += std::string(failures.empty() ? "" : "; ") + e.what();
      if (!e.retryable() || i + 1 == urls.size()) {
        if (urls.size() == 1) throw;
        throw RpcError(e.kind, std::string(method) + " failed on " + std::to_string(i + 1) +
                                   " of " + std::to_string(urls.size()) + " URLs: " + failures);
      }
      log.warn("DIRAC call failed, trying the next URL", {{"method", std::string(method)},
                                                          {"url", urls[i]},
                                                          {"next", urls[i + 1]},
                                                          {"kind", std::string(kind_name(e.kind))},
                                                          {"error", std::string(e.what())}});
    }
  }
  throw Error("unreachable");
}

}  // namespace pilot::dirac
