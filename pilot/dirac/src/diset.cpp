// DISET: one TLS connection per call. Client: proposal frame, server: S_OK/S_ERROR, client:
// arguments frame, server: result frame, close. A frame is "<decimal length>:<payload>"; a
// keep-alive is "dka" followed by a frame S_OK({"id": ..., "kaping": bool}), a ping answered by a
// pong with the same id.

#include "diset_channel.hpp"

#include <optional>

#include "core/error.hpp"
#include "core/trace.hpp"

namespace pilot::dirac::detail {

std::unique_ptr<DisetSession> open_diset_session(const std::string& url,
                                                 std::string_view action_type,
                                                 std::string_view action,
                                                 const RpcOptions& options) {
  ServiceUrl u = parse_service_url(url);
  if (u.scheme != "dips") throw Error("not a DISET URL: " + url);
  check_own_credential(url, action, options.credentials);
  auto s = std::make_unique<DisetSession>(u, options, url + " " + std::string(action));
  const std::string& where = s->where;
  Value proposal = s_ok(list({list({u.path, options.setup, options.vo}),
                              list({std::string(action_type), std::string(action)}),
                              options.credentials.host ? "hosts" : "", options.client_version}));
  std::optional<trace::Phase> timed(std::in_place, "diset.proposal");
  s->channel.send(proposal, "sending the proposal");
  Reply accepted = parse_reply(s->channel.receive("waiting for the proposal's answer"), where);
  timed.reset();
  if (!accepted.ok) {
    std::string msg =
        where + ": the server refused the call: " + accepted.message +
        (accepted.errno_value ? " (Errno " + std::to_string(accepted.errno_value) + ")" : "");
    bool auth =
        accepted.errno_value == 1111 || accepted.message.find("Unauthorized") != std::string::npos;
    if (auth && options.credentials.host)
      msg += "; host credentials need a host registered in DIRAC";
    throw RpcError(auth ? ErrorKind::auth : ErrorKind::server, msg);
  }
  return s;
}

}  // namespace pilot::dirac::detail

namespace pilot::dirac {

Reply diset_call(const std::string& url, std::string_view method, const List& args,
                 const RpcOptions& options) {
  auto s = detail::open_diset_session(url, "RPC", method, options);
  s->channel.send(s_ok(args), "sending the arguments");
  return parse_reply(s->channel.receive("waiting for the result"), s->where);
}

}  // namespace pilot::dirac
