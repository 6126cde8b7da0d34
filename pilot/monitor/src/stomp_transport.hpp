#pragma once
// The byte stream under the STOMP client: a non-blocking TCP connection (core/http's
// TcpConnection: libcurl's resolver and connect timeout), optionally with TLS over OpenSSL
// verifying the broker against the configured CAs and its host name. Every call takes a deadline
// and throws StompError when it passes. Private to the monitor module.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "monitor/stomp_client.hpp"

namespace pilot::monitor {

class StompTransport {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects (and, with settings.tls, completes the handshake) by `deadline`. Every wait of
  // this object looks at `give_up` (may be null) at least every 100 ms and throws
  // StompError(timeout) once it is set.
  StompTransport(const StompSettings& settings, Clock::time_point deadline,
                 const std::atomic<bool>* give_up);
  ~StompTransport();
  StompTransport(const StompTransport&) = delete;
  StompTransport& operator=(const StompTransport&) = delete;

  void write_all(std::string_view bytes, Clock::time_point deadline);
  // Some bytes, or an empty string when none came by `deadline`; throws StompError(transport) on
  // end of stream or error.
  std::string read_some(Clock::time_point deadline);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pilot::monitor
