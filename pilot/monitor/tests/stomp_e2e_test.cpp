// The STOMP client and publisher against a real RabbitMQ with its STOMP plugin on loopback
// (rabbitmq_broker.hpp): a second connection consumes what the pilot published and checks every
// record arrived, each a job record with DIRAC's fields.

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "call_times.hpp"
#include "core/log.hpp"
#include "monitor/monitoring_records.hpp"
#include "monitor/stomp_client.hpp"
#include "monitor/stomp_publisher.hpp"
#include "rabbitmq_broker.hpp"

using namespace pilot::monitor;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using pilot::test::RabbitBroker;

using pilot::test::CallTimes;

namespace {

const std::string kQueue = "/queue/pilot-test";

PilotStatus status_with_job(int id) {
  PilotStatus s;
  s.site = "LCG.Example.org";
  s.host = "wn01.example.org";
  s.pilot_reference = "slurm://wn01/77";
  s.version = "0.1.0";
  JobView j;
  j.id = std::to_string(id);
  j.state = JobState::running;
  j.cpu_s = id;
  j.wall_s = id + 1;
  s.jobs.push_back(j);
  return s;
}

std::string record(int id) {
  JobChange c{std::to_string(id), "Running", "Application", std::nullopt, 1.7e9 + id, {}};
  return job_record(status_with_job(id), c).dump();
}

void check_fields(const nlohmann::json& r) {
  for (const char* f : {"JobID", "Status", "MinorStatus", "Site", "HostName", "PilotReference",
                        "Processors", "CPUTime", "WallClockTime", "timestamp"})
    CHECK(r.contains(f));
  CHECK(r["Site"] == "LCG.Example.org");
}

// The queue exists (durable, RabbitMQ's default for /queue/) before anything is sent, so that
// records sent while nobody consumes are kept rather than routed nowhere.
void declare(const StompSettings& s, const std::string& queue) {
  StompClient c(s, 5s);
  c.subscribe(queue, "declare", "auto");
  c.disconnect(Clock::now() + 5s);
}

// JobID -> how many times it came, reading until `expected` distinct ones came or `timeout`.
std::map<std::int64_t, int> consume(const StompSettings& s, const std::string& queue,
                                    std::size_t expected, std::chrono::seconds timeout) {
  std::map<std::int64_t, int> seen;
  StompClient c(s, 5s);
  c.subscribe(queue, "sub-0", "auto");
  auto deadline = Clock::now() + timeout;
  while (seen.size() < expected && Clock::now() < deadline) {
    auto f = c.read_frame(std::min(deadline, Clock::now() + 500ms));
    if (!f || f->command != "MESSAGE") continue;
    CHECK(f->header("content-type") == "application/json");
    auto r = nlohmann::json::parse(f->body, nullptr, false);
    REQUIRE_FALSE(r.is_discarded());
    check_fields(r);
    ++seen[r["JobID"].get<std::int64_t>()];
  }
  c.disconnect(Clock::now() + 2s);
  return seen;
}

PublisherOptions quick_options() {
  PublisherOptions o;
  o.backoff_min = 200ms;
  o.backoff_max = 2000ms;
  o.io_timeout = 3000ms;
  return o;
}

void publish_range(StompPublisher& p, int from, int to, std::chrono::microseconds pace,
                   CallTimes& times) {
  for (int i = from; i < to; ++i) {
    auto rec = record(i);
    auto t0 = Clock::now();
    p.publish(RecordKind::job, std::move(rec));
    times.add(Clock::now() - t0);
    if (pace.count() > 0) std::this_thread::sleep_for(pace);
  }
}

void check_all_arrived(const std::map<std::int64_t, int>& seen, int n) {
  CHECK(seen.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(seen.count(i) == 1);
}

}  // namespace

TEST_CASE("records published over plain TCP all reach a consumer") {
  RabbitBroker broker;
  auto s = broker.settings();
  s.destination = kQueue;
  declare(s, kQueue);
  const int n = 500;
  StompPublisher p(s, pilot::log::Logger(), quick_options());
  CallTimes times;
  publish_range(p, 0, n, 0us, times);
  p.stop(Clock::now() + 20s);
  auto c = p.counters();
  CHECK(c.published == n);
  CHECK(c.confirmed == n);
  CHECK(c.dropped == 0);
  CHECK(c.reconnects == 0);
  check_all_arrived(consume(s, kQueue, n, 20s), n);
}

TEST_CASE("records published over TLS reach a consumer, and a wrong CA is refused") {
  RabbitBroker broker(true);
  auto s = broker.settings(true);
  s.destination = kQueue;
  auto wrong = s;
  wrong.ca_dir = broker.pki_dir() / "wrong-certificates";
  try {
    StompClient c(wrong, 5s);
    FAIL("a broker certificate from another CA was accepted");
  } catch (const StompError& e) {
    CHECK(e.kind == StompErrorKind::tls);
    CHECK_THAT(e.what(), Catch::Contains("certificate verify failed"));
    CHECK_THAT(e.what(), Catch::Contains("stomp+ssl://localhost:"));
  }
  auto by_file = s;
  by_file.ca_dir.clear();
  by_file.ca_file = broker.pki_dir() / "ca.pem";
  declare(by_file, kQueue);

  const int n = 200;
  StompPublisher p(s, pilot::log::Logger(), quick_options());
  CallTimes times;
  publish_range(p, 0, n, 0us, times);
  p.stop(Clock::now() + 20s);
  CHECK(p.counters().confirmed == n);
  check_all_arrived(consume(s, kQueue, n, 20s), n);
}

TEST_CASE("a wrong password is a clear refusal") {
  RabbitBroker broker;
  auto s = broker.settings();
  s.passcode = "wrong";
  try {
    StompClient c(s, 5s);
    FAIL("a wrong password was accepted");
  } catch (const StompError& e) {
    CHECK(e.kind == StompErrorKind::refused);
    CHECK_THAT(e.what(), Catch::Contains("refused"));
    CHECK_THAT(e.what(), Catch::Contains("pilot"));  // the user it refused
  }
}

TEST_CASE("a broker killed while records are published loses none of them") {
  RabbitBroker broker;
  auto s = broker.settings();
  s.destination = kQueue;
  declare(s, kQueue);
  StompPublisher p(s, pilot::log::Logger(), quick_options());
  CallTimes times;
  publish_range(p, 0, 200, 2000us, times);
  publish_range(p, 200, 300, 0us, times);  // a burst: some are unconfirmed when it dies
  broker.kill_hard();
  publish_range(p, 300, 500, 5000us, times);  // while it is down
  INFO("slow calls: " << times.slow << ", slowest: " << times.slowest.count() << " ns");
  CHECK(times.never_waited());
  broker.start();
  publish_range(p, 500, 600, 2000us, times);
  p.stop(Clock::now() + 30s);
  auto c = p.counters();
  CHECK(c.published == 600);
  CHECK(c.confirmed == 600);
  CHECK(c.dropped == 0);
  CHECK(c.reconnects >= 1);
  check_all_arrived(consume(s, kQueue, 600, 60s), 600);
}
