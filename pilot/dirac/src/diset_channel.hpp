#pragma once
// One DISET connection: frames in both directions (with keep-alives answered), and the opening
// proposal every DISET action starts with (RPC calls, file transfers).

#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "dirac/codec.hpp"
#include "dirac/diset_frame.hpp"
#include "dirac/rpc.hpp"
#include "tls_socket.hpp"

namespace pilot::dirac::detail {

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
        throw RpcError(ErrorKind::protocol, where_ + ": " + std::string(step) +
                                                ": invalid keep-alive " +
                                                to_debug_string(v).substr(0, 200));
      if (ping->as_bool())
        send(s_ok(dict({{"id", *id}, {"kaping", false}})), "keep-alive reply", "dka");
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
        throw RpcError(ErrorKind::protocol, std::string(e.what()) + " (after " +
                                                std::to_string(reader_.buffered()) + " of " +
                                                std::to_string(*len) + " bytes of a frame)");
      }
    }
  }

  Value decode(const std::string& payload, std::string_view step) {
    try {
      return mixed_decode(payload);
    } catch (const Error& e) {
      throw RpcError(ErrorKind::protocol,
                     where_ + ": " + std::string(step) + ": undecodable frame: " + e.what());
    }
  }

  detail::TlsSocket& sock_;
  const RpcOptions& options_;
  std::string where_;
  DisetFrameReader reader_{options_.max_reply};
};

// A connection whose proposal (action type and name, e.g. "RPC"/"requestJob" or
// "FileTransfer"/"ToClient") the server accepted. Throws RpcError when it refuses.
struct DisetSession {
  DisetSession(const ServiceUrl& url, const RpcOptions& options, std::string where_)
      : where(std::move(where_)), sock(url, options, where), channel(sock, options, where) {}
  std::string where;
  TlsSocket sock;
  Channel channel;
};
std::unique_ptr<DisetSession> open_diset_session(const std::string& url,
                                                 std::string_view action_type,
                                                 std::string_view action,
                                                 const RpcOptions& options);

}  // namespace pilot::dirac::detail
