#pragma once
// One DISET connection: frames in both directions (with keep-alives answered), and the opening
// proposal every DISET action starts with (RPC calls, file transfers).

#include <memory>
#include <string>
#include <string_view>

#include "dirac/codec.hpp"
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
      bool keep_alive = false;
      std::string payload = frame(deadline, step, keep_alive);
      Value v = decode(payload, step);
      if (!keep_alive) return v;
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
  std::string frame(Clock::time_point deadline, std::string_view step, bool& keep_alive) {
    // Header: "dka" or up to 10 digits then ':'.
    for (;;) {
      if (buf_.starts_with("dka")) {
        buf_.erase(0, 3);
        keep_alive = true;
        continue;
      }
      auto colon = buf_.find(':');
      if (colon != std::string::npos || buf_.size() >= 12) {
        std::string_view len_text(buf_.data(), colon == std::string::npos ? buf_.size() : colon);
        std::size_t len = 0;
        bool ok = colon != std::string::npos && colon > 0 && colon <= 10;
        for (char c : len_text) ok = ok && c >= '0' && c <= '9';
        if (ok) len = std::stoull(std::string(len_text));
        if (!ok)
          throw RpcError(ErrorKind::protocol, where_ + ": " + std::string(step) + ": malformed frame header '" +
                                                  printable(buf_.substr(0, 20)) + "'");
        if (len > options_.max_reply)
          throw RpcError(ErrorKind::protocol, where_ + ": " + std::string(step) + ": frame of " + std::to_string(len) +
                                                  " bytes exceeds the limit of " + std::to_string(options_.max_reply));
        buf_.erase(0, colon + 1);
        while (buf_.size() < len) {
          try {
            buf_ += sock_.read_some(deadline, step);
          } catch (const RpcError& e) {
            if (e.kind != ErrorKind::transport) throw;
            throw RpcError(ErrorKind::protocol, std::string(e.what()) + " (after " + std::to_string(buf_.size()) +
                                                    " of " + std::to_string(len) + " bytes of a frame)");
          }
        }
        std::string payload = buf_.substr(0, len);
        buf_.erase(0, len);
        return payload;
      }
      buf_ += sock_.read_some(deadline, step);
    }
  }

  Value decode(const std::string& payload, std::string_view step) {
    try {
      return mixed_decode(payload);
    } catch (const Error& e) {
      throw RpcError(ErrorKind::protocol, where_ + ": " + std::string(step) + ": undecodable frame: " + e.what());
    }
  }

  static std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
  }

  detail::TlsSocket& sock_;
  const RpcOptions& options_;
  std::string where_;
  std::string buf_;
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
std::unique_ptr<DisetSession> open_diset_session(const std::string& url, std::string_view action_type,
                                                 std::string_view action, const RpcOptions& options);

}  // namespace pilot::dirac::detail
