#pragma once
// Ships the pilot's own log to DIRAC's PilotLogging service, as the Python pilot's remote logger
// does: lines are buffered from the start (also before the service is known), sent as one
// `sendMessage` (a JSON list of lines) every `period` or when `batch` lines are waiting, and
// `finaliseLogs` closes the log when the pilot ends. A failed send keeps the lines for the next
// try (bounded: the oldest are dropped, and counted, beyond `max_buffered`); it never stops the
// pilot.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "dirac/services.hpp"

namespace pilot::agent {

class LogShipper {
 public:
  struct Options {
    std::chrono::milliseconds period{60000};
    std::size_t batch = 1000;
    std::size_t max_buffered = 100000;
  };
  explicit LogShipper(Options options);
  LogShipper() : LogShipper(Options{}) {}
  ~LogShipper();  // sends what is left and finalises, when started
  LogShipper(const LogShipper&) = delete;
  LogShipper& operator=(const LogShipper&) = delete;

  // Thread-safe; cheap. The tee of the pilot's logger.
  void add(const std::string& line);
  // Starts shipping to the service (lines added before are sent first).
  void start(dirac::ServiceClient client, std::string pilot_uuid, std::string vo);
  // Stops the thread, sends the rest and calls finaliseLogs with {"retCode": exit_code}.
  void finish(int exit_code);
  std::size_t dropped() const;

 private:
  void run();
  bool send_some();

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  std::size_t dropped_ = 0;
  bool stop_ = false;
  bool finished_ = false;
  std::optional<dirac::ServiceClient> client_;
  std::string uuid_, vo_;
  std::thread thread_;
};

}  // namespace pilot::agent
