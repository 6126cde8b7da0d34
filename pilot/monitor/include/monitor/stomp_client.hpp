#pragma once
// A STOMP 1.2 client (https://stomp.github.io/stomp-specification-1.2.html) for the monitoring
// records DIRAC's message queues feed into OpenSearch (issue 19): plain TCP or TLS, one
// connection per object, every step bounded by a deadline so nothing waits for a broker for ever.
// Enough of the protocol for a producer (SEND with receipts) and for a test's consumer
// (SUBSCRIBE, ACK); no transactions, no NACK. Not thread-safe: one thread drives a client.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace pilot::monitor {

// The broker and where the records go; the agent's `stomp.*` keys, one for one.
struct StompSettings {
  std::string host;  // empty: no publishing
  int port = 61613;
  bool tls = false;
  // The broker's certificate is verified against these (at least one is needed with tls) and
  // its host name against `host`.
  std::filesystem::path ca_dir;
  std::filesystem::path ca_file;
  std::string login;
  std::string passcode;
  std::string vhost = "/";                                // CONNECT's `host` header
  std::string destination = "/queue/dirac.jobs";          // job state changes
  std::string pilot_destination = "/queue/dirac.pilots";  // the periodic pilot records
  std::size_t queue_bound = 10000;  // records kept while the broker is away (publisher)
  double connect_timeout_s = 10;    // TCP, TLS handshake and CONNECTED, each
  int heartbeat_ms = 10000;         // offered both ways; 0: none
};

// Why a STOMP step failed: the publisher retries every kind, an operator acts differently on
// each (a refused login or certificate will not cure itself).
enum class StompErrorKind {
  transport,  // no TCP connection, or it broke
  tls,        // handshake or certificate verification failed
  timeout,    // the broker did not answer within the deadline
  refused,    // the broker sent ERROR (a wrong login, an unknown vhost, a bad frame)
  protocol,   // not STOMP 1.2: a malformed or unexpected frame
};
const char* stomp_error_kind_name(StompErrorKind kind);

struct StompError : Error {
  StompError(StompErrorKind k, const std::string& what) : Error(what), kind(k) {}
  StompErrorKind kind;
};

// One frame. Header names and values are kept unescaped; the first of a repeated header wins, as
// the specification says.
struct StompFrame {
  std::string command;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string> header(std::string_view name) const;
};

// The header escaping of STOMP 1.2 (\\ \n \r \c); CONNECT and CONNECTED frames are not escaped.
std::string escape_header(std::string_view text);
// Throws StompError(protocol) for an undefined escape (`\t`, a trailing `\`).
std::string unescape_header(std::string_view text);
// The bytes on the wire, with content-length whenever there is a body.
std::string encode_frame(const StompFrame& frame);

// Splits a byte stream into frames: heart-beat end-of-lines between frames are skipped, CRLF is
// accepted, a body with content-length may hold NULs. Throws StompError(protocol) for a malformed
// frame or one larger than kMaxFrame.
class FrameParser {
 public:
  static constexpr std::size_t kMaxFrame = 16 * 1024 * 1024;
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  std::optional<StompFrame> next();

 private:
  std::string buffer_;
};

class StompTransport;  // src/stomp_transport.hpp: the TCP or TLS stream

class StompClient {
 public:
  using Clock = std::chrono::steady_clock;

  // Opens the connection and completes CONNECT / CONNECTED within settings.connect_timeout_s
  // per step; `io_timeout` bounds every later read and write. Throws StompError: `refused` with
  // the broker's message for a wrong login, `tls` with the certificate's fault (core/tls_verify).
  // `give_up` (may be null, must outlive the client): once set, any wait of the client ends
  // within 100 ms with StompError(timeout).
  StompClient(const StompSettings& settings, std::chrono::milliseconds io_timeout,
              const std::atomic<bool>* give_up = nullptr);
  ~StompClient();
  StompClient(const StompClient&) = delete;
  StompClient& operator=(const StompClient&) = delete;

  // SEND with content-type application/json; a non-empty `receipt` asks the broker to confirm
  // it (a RECEIPT frame with receipt-id). `persistent`: the broker keeps it across its restart.
  void send(const std::string& destination, std::string_view json, const std::string& receipt,
            bool persistent = true);
  // `ack`: "auto" or "client-individual" (then ack() each MESSAGE by its `ack` header).
  void subscribe(const std::string& destination, const std::string& id, const std::string& ack,
                 std::size_t prefetch = 0);
  void ack(const std::string& ack_id);

  // The next frame other than a heart-beat, or nullopt when none came by `deadline`. Sends a
  // heart-beat when one is due while it waits. Throws StompError: `refused` for an ERROR frame,
  // `timeout` when the broker has been silent past its heart-beat promise, `transport` when the
  // connection broke.
  std::optional<StompFrame> read_frame(Clock::time_point deadline);
  // Writes a heart-beat if the negotiated interval has passed since the last write.
  void keep_alive();

  // DISCONNECT with a receipt, waiting for it until `deadline`; never throws (a broker that is
  // gone loses nothing we still need).
  void disconnect(Clock::time_point deadline) noexcept;

  // Bounds every later write (the publisher shortens it to meet its stop deadline).
  void set_io_timeout(std::chrono::milliseconds timeout) { io_timeout_ = timeout; }

  // Where it is connected, for messages: "stomp+ssl://host:port".
  const std::string& where() const { return where_; }

 private:
  void write(const StompFrame& frame);
  void write_bytes(std::string_view bytes);
  void negotiate(const StompSettings& settings);
  std::optional<StompFrame> pop_frame();

  std::string where_;
  std::chrono::milliseconds io_timeout_;
  std::unique_ptr<StompTransport> transport_;
  FrameParser parser_;
  std::chrono::milliseconds send_every_{0};     // our heart-beats; 0: none
  std::chrono::milliseconds expect_within_{0};  // the broker's, with slack; 0: none
  Clock::time_point last_write_{}, last_read_{};
};

}  // namespace pilot::monitor
