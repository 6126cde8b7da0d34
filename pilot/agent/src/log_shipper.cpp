#include "agent/log_shipper.hpp"

#include <nlohmann/json.hpp>

namespace pilot::agent {

LogShipper::LogShipper(Options options) : options_(options) {}

LogShipper::~LogShipper() {
  finish(0);
}

void LogShipper::add(const std::string& line) {
  std::lock_guard lock(mu_);
  if (finished_) return;
  lines_.push_back(line);
  if (lines_.size() > options_.max_buffered) {
    lines_.pop_front();
    ++dropped_;
  }
  if (lines_.size() >= options_.batch) cv_.notify_one();
}

std::size_t LogShipper::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void LogShipper::start(dirac::ServiceClient client, std::string pilot_uuid, std::string vo) {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || finished_) return;
  client_ = std::move(client);
  uuid_ = std::move(pilot_uuid);
  vo_ = std::move(vo);
  thread_ = std::thread([this] { run(); });
}

// Sends up to one batch; false when the service refused or could not be reached.
bool LogShipper::send_some() {
  std::vector<std::string> batch;
  {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < options_.batch && i < lines_.size(); ++i)
      batch.push_back(lines_[i]);
  }
  if (batch.empty()) return true;
  try {
    // The shipper's own client logs nothing into the pilot's log (no feedback loop).
    dirac::send_pilot_log(
        *client_,
        nlohmann::json(batch).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), uuid_,
        vo_);
  } catch (const std::exception&) {
    return false;
  }
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < batch.size() && !lines_.empty(); ++i) lines_.pop_front();
  return true;
}

void LogShipper::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.period,
                 [this] { return stop_ || lines_.size() >= options_.batch; });
    if (stop_) break;
    lock.unlock();
    send_some();
    lock.lock();
  }
}

void LogShipper::finish(int exit_code) {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    stop_ = true;
  }
  cv_.notify_one();
  if (!thread_.joinable()) return;
  thread_.join();
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mu_);
      if (lines_.empty()) break;
    }
    if (!send_some()) break;
  }
  try {
    dirac::Dict payload;
    payload.set("retCode", dirac::Value(static_cast<std::int64_t>(exit_code)));
    dirac::finalise_pilot_logs(*client_, payload, uuid_, vo_);
  } catch (const std::exception&) {
    // Nothing more to do: the log is also on the node.
  }
}

}  // namespace pilot::agent
