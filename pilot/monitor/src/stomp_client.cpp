#include "monitor/stomp_client.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "stomp_transport.hpp"

namespace pilot::monitor {
namespace {

using std::chrono::milliseconds;

std::chrono::milliseconds seconds_ms(double s) {
  return milliseconds(static_cast<long long>(std::max(s, 0.001) * 1000));
}

// "cx,cy" of a heart-beat header; {0, 0} when absent or unreadable (no heart-beats, as the
// specification's default).
std::pair<long long, long long> heartbeat_pair(const std::optional<std::string>& text) {
  if (!text) return {0, 0};
  auto comma = text->find(',');
  if (comma == std::string::npos) return {0, 0};
  long long x = 0, y = 0;
  auto first = std::from_chars(text->data(), text->data() + comma, x);
  auto second = std::from_chars(text->data() + comma + 1, text->data() + text->size(), y);
  if (first.ec != std::errc() || second.ec != std::errc()) return {0, 0};
  return {x, y};
}

std::string error_text(const StompFrame& frame) {
  std::string text = frame.header("message").value_or("ERROR frame");
  std::string body = frame.body.substr(0, 500);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\0')) body.pop_back();
  return body.empty() ? text : text + " (" + body + ")";
}

}  // namespace

StompClient::StompClient(const StompSettings& settings, milliseconds io_timeout,
                         const std::atomic<bool>* give_up)
    : where_(std::string(settings.tls ? "stomp+ssl://" : "stomp://") + settings.host + ":" +
             std::to_string(settings.port)),
      io_timeout_(io_timeout) {
  transport_ = std::make_unique<StompTransport>(
      settings, Clock::now() + seconds_ms(settings.connect_timeout_s), give_up);
  negotiate(settings);
}

StompClient::~StompClient() = default;

void StompClient::negotiate(const StompSettings& settings) {
  StompFrame connect{"CONNECT",
                     {{"accept-version", "1.2"},
                      {"host", settings.vhost},
                      {"heart-beat", std::to_string(settings.heartbeat_ms) + "," +
                                         std::to_string(settings.heartbeat_ms)}},
                     {}};
  if (!settings.login.empty()) connect.headers.emplace_back("login", settings.login);
  if (!settings.passcode.empty()) connect.headers.emplace_back("passcode", settings.passcode);
  auto deadline = Clock::now() + seconds_ms(settings.connect_timeout_s);
  transport_->write_all(encode_frame(connect), deadline);
  last_write_ = Clock::now();
  auto reply = read_frame(deadline);
  if (!reply)
    throw StompError(StompErrorKind::timeout,
                     where_ + ": no CONNECTED frame within the connect time-out");
  if (reply->command != "CONNECTED")
    throw StompError(StompErrorKind::protocol,
                     where_ + ": " + reply->command + " instead of CONNECTED");
  if (reply->header("version").value_or("1.0") != "1.2")
    throw StompError(StompErrorKind::protocol, where_ + ": the broker speaks STOMP " +
                                                   reply->header("version").value_or("1.0") +
                                                   ", not 1.2");
  // The negotiation of the specification: each side beats at the slower of what one offers
  // and the other wants; silence of twice the broker's interval means it is gone.
  auto [sx, sy] = heartbeat_pair(reply->header("heart-beat"));
  long long ours = settings.heartbeat_ms;
  if (ours > 0 && sy > 0) send_every_ = milliseconds(std::max(ours, sy));
  if (ours > 0 && sx > 0) expect_within_ = milliseconds(2 * std::max(ours, sx));
}

void StompClient::write_bytes(std::string_view bytes) {
  transport_->write_all(bytes, Clock::now() + io_timeout_);
  last_write_ = Clock::now();
}

void StompClient::write(const StompFrame& frame) {
  write_bytes(encode_frame(frame));
}

void StompClient::send(const std::string& destination, std::string_view json,
                       const std::string& receipt, bool persistent) {
  StompFrame frame{"SEND",
                   {{"destination", destination}, {"content-type", "application/json"}},
                   std::string(json)};
  if (persistent) frame.headers.emplace_back("persistent", "true");
  if (!receipt.empty()) frame.headers.emplace_back("receipt", receipt);
  write(frame);
}

void StompClient::subscribe(const std::string& destination, const std::string& id,
                            const std::string& ack, std::size_t prefetch) {
  StompFrame frame{"SUBSCRIBE", {{"destination", destination}, {"id", id}, {"ack", ack}}, {}};
  // RabbitMQ's name for the window of unacknowledged messages it sends.
  if (prefetch > 0) frame.headers.emplace_back("prefetch-count", std::to_string(prefetch));
  write(frame);
}

void StompClient::ack(const std::string& ack_id) {
  write(StompFrame{"ACK", {{"id", ack_id}}, {}});
}

void StompClient::keep_alive() {
  if (send_every_.count() > 0 && Clock::now() - last_write_ >= send_every_) write_bytes("\n");
}

std::optional<StompFrame> StompClient::pop_frame() {
  auto frame = parser_.next();
  if (frame && frame->command == "ERROR")
    throw StompError(StompErrorKind::refused,
                     where_ + ": the broker refused: " + error_text(*frame));
  return frame;
}

std::optional<StompFrame> StompClient::read_frame(Clock::time_point deadline) {
  if (last_read_ == Clock::time_point{}) last_read_ = Clock::now();
  for (;;) {
    if (auto frame = pop_frame()) return frame;
    // Short slices while heart-beats are due, so ours go out on time.
    auto slice = deadline;
    if (send_every_.count() > 0) slice = std::min(deadline, last_write_ + send_every_);
    std::string bytes = transport_->read_some(std::max(slice, Clock::now()));
    auto now = Clock::now();
    if (!bytes.empty()) {
      last_read_ = now;
      parser_.feed(bytes);
      continue;
    }
    if (expect_within_.count() > 0 && now - last_read_ > expect_within_)
      throw StompError(StompErrorKind::timeout,
                       where_ + ": the broker has been silent past its heart-beat interval");
    keep_alive();
    if (now >= deadline) return std::nullopt;
  }
}

void StompClient::disconnect(Clock::time_point deadline) noexcept {
  try {
    write(StompFrame{"DISCONNECT", {{"receipt", "disconnect"}}, {}});
    while (auto frame = read_frame(deadline))
      if (frame->command == "RECEIPT" && frame->header("receipt-id") == "disconnect") return;
  } catch (const std::exception&) {
    // The connection goes anyway; what was not confirmed before is the caller's to re-send.
  }
}

}  // namespace pilot::monitor
