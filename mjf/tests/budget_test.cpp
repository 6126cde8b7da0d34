#include <catch2/catch.hpp>

#include "mjf/budget.hpp"

using namespace pilot::mjf;

namespace {
constexpr std::int64_t kNow = 1700001000;

std::string limited_by(const ResourceBudget& b) {
  return limit_names(b.limited_by);
}
}  // namespace

TEST_CASE("nothing known: every answer is unknown and the slot is not draining") {
  auto b = compute_budget({}, {}, kNow);
  CHECK_FALSE(b.wall_seconds_left);
  CHECK(b.limited_by.empty());
  CHECK_FALSE(b.cpu_seconds_left);
  CHECK_FALSE(b.processors);
  CHECK_FALSE(b.memory_limit_bytes);
  CHECK_FALSE(b.cpu_power_hs06);
  CHECK_FALSE(b.cpu_work_left_hs06s);
  CHECK_FALSE(b.draining);
}

TEST_CASE("wall time: jobstart_secs + wall_limit_secs needs both") {
  Observation o;
  o.mjf.job.wall_limit_secs = 7200;
  CHECK_FALSE(compute_budget(o, {}, kNow).wall_seconds_left);
  o.mjf.job.jobstart_secs = 1700000000;
  auto b = compute_budget(o, {}, kNow);
  CHECK(b.wall_seconds_left == 6200);
  CHECK(limited_by(b) == "wall_limit");
  CHECK_FALSE(b.draining);  // a wall limit is not a shutdown
}

TEST_CASE("wall time: the earliest deadline wins and is named") {
  Observation o;
  o.mjf.job.jobstart_secs = 1700000000;
  o.mjf.job.wall_limit_secs = 7200;
  o.mjf.machine.shutdowntime = 1700005000;
  auto b = compute_budget(o, {}, kNow);
  CHECK(b.wall_seconds_left == 4000);
  CHECK(limited_by(b) == "shutdowntime");
  CHECK(b.shutdowns_announced == std::vector{Limit::shutdowntime});
  CHECK_FALSE(b.draining);  // a shutdown is announced, nobody asked to drain

  o.mjf.job.shutdowntime_job = 1700004000;  // job shutdown earlier than machine shutdown
  b = compute_budget(o, {}, kNow);
  CHECK(b.wall_seconds_left == 3000);
  CHECK(limited_by(b) == "shutdowntime_job");

  o.mjf.job.shutdowntime_job = 1700006000;  // machine shutdown earlier than job shutdown
  b = compute_budget(o, {}, kNow);
  CHECK(limited_by(b) == "shutdowntime");

  o.shutdown_file = 1700002000;
  b = compute_budget(o, {}, kNow);
  CHECK(b.wall_seconds_left == 1000);
  CHECK(limited_by(b) == "shutdown_file");
  REQUIRE(b.deadlines.size() == 4);
  CHECK(b.deadlines.back().source == Limit::wall_limit);
  CHECK(b.shutdowns_announced ==
        std::vector{Limit::shutdowntime_job, Limit::shutdowntime, Limit::shutdown_file});
}

TEST_CASE("wall time: deadlines that coincide are all named") {
  Observation o;
  o.mjf.job.jobstart_secs = 1700000000;
  o.mjf.job.wall_limit_secs = 5000;
  o.mjf.job.shutdowntime_job = 1700005000;
  o.mjf.machine.shutdowntime = 1700005000;
  o.shutdown_file = 1700009000;
  auto b = compute_budget(o, {}, kNow);
  CHECK(b.wall_seconds_left == 4000);
  CHECK(b.limited_by ==
        std::vector{Limit::wall_limit, Limit::shutdowntime_job, Limit::shutdowntime});
  CHECK(limited_by(b) == "wall_limit,shutdowntime_job,shutdowntime");
  CHECK(b.deadlines.size() == 4);
}

TEST_CASE("wall time: a past shutdown gives a negative answer, not a clamped one") {
  Observation o;
  o.mjf.machine.shutdowntime = kNow - 600;
  auto b = compute_budget(o, {}, kNow);
  CHECK(b.wall_seconds_left == -600);
  CHECK(b.shutdowns_announced == std::vector{Limit::shutdowntime});
  Config c;
  c.cpu_power_hs06 = 10;
  b = compute_budget(o, c, kNow);
  CHECK(b.cpu_work_left_hs06s == Approx(0));  // CPUTime for the Matcher never goes below zero
  o.mjf.machine.shutdowntime = kNow;
  CHECK(compute_budget(o, {}, kNow).wall_seconds_left == 0);
}

TEST_CASE("wall time: batch end time when MJF has no wall limit, configuration last") {
  Observation o;
  Config c;
  c.wall_limit_secs = 3600;
  c.started_at = kNow - 100;
  auto b = compute_budget(o, c, kNow);
  CHECK(b.wall_seconds_left == 3500);
  CHECK(limited_by(b) == "config");

  o.batch_limits = BatchLimits{};
  o.batch_limits->end_time = kNow + 7000;
  b = compute_budget(o, c, kNow);
  CHECK(b.wall_seconds_left == 7000);
  CHECK(limited_by(b) == "batch");

  o.mjf.job.jobstart_secs = kNow;
  o.mjf.job.wall_limit_secs = 9000;
  b = compute_budget(o, c, kNow);
  CHECK(limited_by(b) == "wall_limit");
  CHECK(b.wall_seconds_left == 9000);
  CHECK(needs_batch_limits(o.mjf) == false);
  CHECK(needs_batch_limits(Features{}) == true);

  o = {};
  o.batch_limits = BatchLimits{};
  o.batch_limits->end_time = kNow + 7000;
  o.mjf.job.shutdowntime_job = kNow + 60;  // shutdowns still count with a batch limit
  CHECK(limited_by(compute_budget(o, c, kNow)) == "shutdowntime_job");
}

TEST_CASE("CPU power per processor: job, machine, legacy (two decimals), configuration") {
  Observation o;
  Config c;
  c.cpu_power_hs06 = 11.5;
  auto b = compute_budget(o, c, kNow);
  CHECK(b.cpu_power_hs06 == Approx(11.5));
  CHECK(b.cpu_power_source == "config");

  o.mjf.machine.hs06 = 100;
  o.mjf.machine.log_cores = 6;
  o.mjf.machine.phys_cores = 3;
  o.mjf.machine.jobslots = 7;
  b = compute_budget(o, c, kNow);
  CHECK(b.cpu_power_hs06 == Approx(16.67));  // 100 / min(max(6, 3), 7)
  CHECK(b.cpu_power_source == "mjf_legacy");
  o.mjf.machine.jobslots = 3;
  CHECK(compute_budget(o, c, kNow).cpu_power_hs06 == Approx(33.33));

  o.mjf.machine.total_cpu = 8;
  b = compute_budget(o, c, kNow);
  CHECK(b.cpu_power_hs06 == Approx(12.5));
  CHECK(b.cpu_power_source == "mjf_machine");

  o.mjf.job.hs06_job = 45;
  b = compute_budget(o, c, kNow);
  CHECK(b.cpu_power_source == "mjf_machine");  // hs06_job alone is not enough
  o.mjf.job.allocated_cpu = 4;
  b = compute_budget(o, c, kNow);
  CHECK(b.cpu_power_hs06 == Approx(11.25));
  CHECK(b.cpu_power_source == "mjf_job");

  o.mjf.job.allocated_cpu = 0;  // nonsense divisors are skipped
  CHECK(compute_budget(o, c, kNow).cpu_power_source == "mjf_machine");
}

TEST_CASE("processors and memory: MJF, then the batch system, then configuration") {
  Observation o;
  Config c;
  c.processors = 2;
  c.memory_limit_bytes = 1000;
  auto b = compute_budget(o, c, kNow);
  CHECK(b.processors == 2);
  CHECK(b.processors_source == "config");
  CHECK(b.memory_limit_bytes == 1000);
  CHECK(b.memory_limit_source == "config");

  o.batch_processors = EnvProcessors{4, "SLURM_CPUS_ON_NODE"};
  o.batch_limits = BatchLimits{};
  o.batch_limits->memory_bytes = 2000;
  b = compute_budget(o, c, kNow);
  CHECK(b.processors == 4);
  CHECK(b.processors_source == "SLURM_CPUS_ON_NODE");
  CHECK(b.memory_limit_bytes == 2000);
  CHECK(b.memory_limit_source == "batch");

  o.mjf.job.allocated_CPU = 6;
  o.mjf.job.mem_limit_MB = 3;
  b = compute_budget(o, c, kNow);
  CHECK(b.processors == 6);
  CHECK(b.processors_source == "allocated_CPU");
  CHECK(b.memory_limit_bytes == 3 << 20);

  o.mjf.job.allocated_cpu = 8;
  o.mjf.job.max_rss_bytes = 4000;
  b = compute_budget(o, c, kNow);
  CHECK(b.processors == 8);
  CHECK(b.processors_source == "allocated_cpu");
  CHECK(b.memory_limit_bytes == 4000);
  CHECK(b.memory_limit_source == "max_rss_bytes");
}

TEST_CASE("CPU seconds and CPU work left (DIRAC's CPUTime in HS06 s)") {
  Observation o;
  o.mjf.job.jobstart_secs = kNow;
  o.mjf.job.wall_limit_secs = 1000;
  o.mjf.job.hs06_job = 40;
  o.mjf.job.allocated_cpu = 4;
  auto b = compute_budget(o, {}, kNow);
  CHECK_FALSE(b.cpu_seconds_left);
  CHECK(b.cpu_work_left_hs06s == Approx(10000));  // 1000 s x 10 HS06

  o.mjf.job.cpu_limit_secs = 600;
  o.cpu_used_secs = 100;
  b = compute_budget(o, {}, kNow);
  CHECK(b.cpu_seconds_left == 500);
  CHECK(b.cpu_work_left_hs06s == Approx(5000));  // the CPU limit is nearer than the wall limit

  o.mjf.job.cpu_limit_secs.reset();
  o.mjf.job.cpu_limit_secs_lrms = 300;
  CHECK(compute_budget(o, {}, kNow).cpu_seconds_left == 200);
}

TEST_CASE("draining is the drain file, and a shutdown a day away is announced, not draining") {
  Observation o;
  o.drain_file = true;
  auto b = compute_budget(o, {}, kNow);
  CHECK(b.draining);
  CHECK(b.shutdowns_announced.empty());
  CHECK_FALSE(b.wall_seconds_left);  // draining does not invent a deadline
  o.drain_file = false;
  o.mjf.job.shutdowntime_job = kNow + 86400;
  b = compute_budget(o, {}, kNow);
  CHECK_FALSE(b.draining);
  CHECK(b.shutdowns_announced == std::vector{Limit::shutdowntime_job});
}
