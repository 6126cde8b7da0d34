// The publisher without a working broker: nothing listens, or something listens and never
// answers. The caller must never wait, the queue must stay bounded and stop() must keep its
// deadline.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "call_times.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "monitor/stomp_publisher.hpp"

using namespace pilot::monitor;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using pilot::test::CallTimes;

namespace {

// A loopback socket bound to a free port; `listening`: the kernel completes every connection,
// and nobody ever reads or answers.
struct Socket {
  pilot::UniqueFd fd;
  int port = 0;
  explicit Socket(bool listening) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
        (listening && ::listen(fd.get(), 64) != 0))
      pilot::throw_errno("cannot bind a loopback socket", errno);
    port = ntohs(a.sin_port);
  }
};

StompSettings settings_for(int port) {
  StompSettings s;
  s.host = "127.0.0.1";
  s.port = port;
  s.login = "pilot";
  s.passcode = "secret";
  s.connect_timeout_s = 0.3;
  return s;
}

PublisherOptions fast_retries() {
  PublisherOptions o;
  o.backoff_min = 100ms;
  o.backoff_max = 1000ms;
  o.io_timeout = 500ms;
  return o;
}

void publish_timed(StompPublisher& p, int n, CallTimes& times) {
  std::string record = R"({"JobID":1,"Status":"Running"})";
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    p.publish(RecordKind::job, record);
    times.add(Clock::now() - t0);
  }
}

}  // namespace

TEST_CASE("with the broker down, publish never waits and the bound drops the oldest") {
  Socket closed(false);  // bound, not listening: connections are refused
  pilot::TempDir dir("stomp-down");
  auto log_file = dir.path() / "pilot.log";
  pilot::log::Logger log(
      pilot::log::make_sink({pilot::log::Format::json, pilot::log::Level::info, false, log_file}),
      "monitoring");
  auto s = settings_for(closed.port);
  s.queue_bound = 1000;
  StompPublisher p(s, log, fast_retries());
  CallTimes times;
  publish_timed(p, 5000, times);
  INFO("slow calls: " << times.slow << ", slowest: " << times.slowest.count() << " ns");
  CHECK(times.never_waited());
  auto c = p.counters();
  CHECK(c.published == 5000);
  CHECK(c.pending == 1000);
  CHECK(c.dropped == 4000);
  CHECK(c.confirmed == 0);

  auto t0 = Clock::now();
  p.stop(t0 + 700ms);
  auto took = Clock::now() - t0;
  CHECK(took < 900ms);
  c = p.counters();
  CHECK(c.dropped == 5000);  // what stop() could not deliver is dropped too
  CHECK(c.pending == 0);
  log.flush();
  // The losses are logged as counts, a few lines, never one per record.
  auto text = pilot::read_file(log_file).value_or("");
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = text.find("monitoring records dropped", at)) != std::string::npos;
       ++at)
    ++lines;
  CHECK(lines >= 1);
  CHECK(lines <= 3);
  CHECK(text.find("\"dropped_total\":5000") != std::string::npos);
  CHECK(text.find("monitoring broker unavailable") != std::string::npos);
  p.stop(Clock::now());              // idempotent
  p.publish(RecordKind::job, "{}");  // ignored after stop
  CHECK(p.counters().published == 5000);
}

TEST_CASE("a broker that accepts and never answers does not block and is retried with back-off") {
  Socket silent(true);
  std::atomic<bool> done{false};
  std::mutex m;
  std::vector<Clock::time_point> accepted;
  std::vector<pilot::UniqueFd> held;  // kept open: the broker "hangs", it does not close
  std::thread acceptor([&] {
    while (!done) {
      pollfd pf{silent.fd.get(), POLLIN, 0};
      if (::poll(&pf, 1, 50) <= 0) continue;
      int c = ::accept4(silent.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard lock(m);
      accepted.push_back(Clock::now());
      held.emplace_back(c);
    }
  });
  {
    StompPublisher p(settings_for(silent.port), pilot::log::Logger(), fast_retries());
    auto until = Clock::now() + 3500ms;
    CallTimes times;
    while (Clock::now() < until) {
      publish_timed(p, 10, times);
      std::this_thread::sleep_for(10ms);
    }
    INFO("slow calls: " << times.slow << ", slowest: " << times.slowest.count() << " ns");
    CHECK(times.never_waited());
    CHECK(p.counters().confirmed == 0);
    CHECK(p.counters().reconnects == 0);  // it never got connected
    auto t0 = Clock::now();
    p.stop(t0 + 300ms);
    CHECK(Clock::now() - t0 < 500ms);
  }
  done = true;
  acceptor.join();
  // Each attempt waits 0.3 s for CONNECTED, then 0.05-0.1, 0.1-0.2, 0.2-0.4, 0.4-0.8 s...: a
  // handful of attempts in 3.5 s, each gap longer than the first.
  std::lock_guard lock(m);
  INFO("attempts: " << accepted.size());
  REQUIRE(accepted.size() >= 4);
  CHECK(accepted.size() <= 9);
  auto gap = [&](std::size_t i) { return accepted[i + 1] - accepted[i]; };
  CHECK(gap(0) >= 300ms);
  CHECK(gap(2) > gap(0));
}
