// DISET: one TLS connection per call. Client: proposal frame, server: S_OK/S_ERROR, client:
// arguments frame, server: result frame, close. A frame is "<decimal length>:<payload>"; a
// keep-alive is "dka" followed by a frame S_OK({"id": ..., "kaping": bool}), a ping answered by a
// pong with the same id.

#include "core/error.hpp"
#include "dirac/codec.hpp"
#include "dirac/diset_frame.hpp"
#include "dirac/rpc.hpp"
#include "tls_socket.hpp"

namespace pilot::dirac {
namespace {

using detail::Clock;

class Channel {
 public:
  Channel(detail::TlsSocket& sock, const RpcOptions& options, std::string where)
      : sock_(sock), options_(options), where_(std::move(where)) {}

  void send(const Value& v, std::string_view step, std::string_view prefix = {}) {
    std::string payload = options_.diset_json ? json_encode(v) : dencode(v);
    std::string frame(prefix);
    frame += std::to_string(payload.size()) + ":" + payload;
    sock_.write_all(frame, Clock::now() + options_.timeout, step);
  }

  // The next frame that is not a keep-alive, decoded.
  Value receive(std::string_view step) {
    for (;;) {
      auto deadline = Clock::now() + options_.timeout;
      DisetFrame f = frame(deadline, step);
      Value v = decode(f.payload, step);
      if (!f.keep_alive) return v;
      // Keep-alive: answer pings, ignore pongs, then wait for the real message.
      Reply r = parse_reply(v, where_ + ": " + std::string(step) + " (keep-alive)");
      const Dict* ka = r.value.is<Dict>() ? &r.value.as_dict() : nullptr;
      const Value* id = ka ? ka->find("id") : nullptr;
      const Value* ping = ka ? ka->find("kaping") : nullptr;
      if (!id || !ping || !ping->is<bool>())
        throw RpcError(ErrorKind::protocol, where_ + ": " + std::string(step) + ": invalid keep-alive " + to_debug_string(v).substr(0, 200));
      if (ping->as_bool()) send(s_ok(dict({{"id", *id}, {"kaping", false}})), "keep-alive reply", "dka");
    }
  }

 private:
  DisetFrame frame(Clock::time_point deadline, std::string_view step) {
    for (;;) {
      try {
        if (auto f = reader_.next()) return std::move(*f);
      } catch (const Error& e) {
        throw RpcError(ErrorKind::protocol, where_ + ": " + std::string(step) + ": " + e.what());
      }
      try {
        reader_.feed(sock_.read_some(deadline, step));
      } catch (const RpcError& e) {
        auto len = reader_.pending_length();
        if (e.kind != ErrorKind::transport || !len) throw;
        throw RpcError(ErrorKind::protocol, std::string(e.what()) + " (after " + std::to_string(reader_.buffered()) +
                                                " of " + std::to_string(*len) + " bytes of a frame)");
      }
    }
  }

  Value decode(const std::string& payload, std::string_view step) {
    try {
      return mixed_decode(payload);
    } catch (const Error& e) {
      throw RpcError(ErrorKind::protocol, where_ + ": " + std::string(step) + ": undecodable frame: " + e.what());
    }
  }

  detail::TlsSocket& sock_;
  const RpcOptions& options_;
  std::string where_;
  DisetFrameReader reader_{options_.max_reply};
};

}  // namespace

Reply diset_call(const std::string& url, std::string_view method, const List& args, const RpcOptions& options) {
  ServiceUrl u = parse_service_url(url);
  if (u.scheme != "dips") throw Error("not a DISET URL: " + url);
  std::string where = url + " " + std::string(method);
  check_own_credential(url, method, options.credentials);
  detail::TlsSocket sock(u, options, where);
  Channel ch(sock, options, where);
  Value proposal = s_ok(list({list({u.path, options.setup, options.vo}), list({"RPC", std::string(method)}),
                              options.credentials.host ? "hosts" : "", options.client_version}));
  ch.send(proposal, "sending the proposal");
  Reply accepted = parse_reply(ch.receive("waiting for the proposal's answer"), where);
  if (!accepted.ok) {
    std::string msg = where + ": the server refused the call: " + accepted.message +
                      (accepted.errno_value ? " (Errno " + std::to_string(accepted.errno_value) + ")" : "");
    bool auth = accepted.errno_value == 1111 || accepted.message.find("Unauthorized") != std::string::npos;
    if (auth && options.credentials.host) msg += "; host credentials need a host registered in DIRAC";
    throw RpcError(auth ? ErrorKind::auth : ErrorKind::server, msg);
  }
  ch.send(s_ok(args), "sending the arguments");
  return parse_reply(ch.receive("waiting for the result"), where);
}

}  // namespace pilot::dirac
