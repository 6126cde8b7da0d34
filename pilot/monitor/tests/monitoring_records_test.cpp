#include <catch2/catch.hpp>

#include "monitor/monitoring_records.hpp"

using namespace pilot::monitor;

namespace {

PilotStatus sample_status() {
  PilotStatus s;
  s.version = "0.1.0";
  s.host = "wn01.example.org";
  s.site = "LCG.Example.org";
  s.pilot_reference = "slurm://wn01/1234";
  s.updated_at = 1700000000.25;
  s.state = PilotState::running;
  s.slots_total = 4;
  s.slots_busy = 2;
  s.wall_s_left = 3600;
  JobView j;
  j.id = "1001";
  j.state = JobState::running;
  j.processors = 2;
  j.cpu_s = 120.5;
  j.wall_s = 61;
  j.memory_bytes = 1 << 30;
  j.mc = true;
  j.events_done = 40;
  s.jobs.push_back(j);
  s.counters.events = 4800;
  s.counters.jobs_finished[JobOutcome::succeeded] = 12;
  s.counters.requests[RequestResult::match] = 13;
  s.counters.heartbeats = 44;
  return s;
}

}  // namespace

TEST_CASE("a held job's change carries its figures from the status") {
  auto s = sample_status();
  JobChange c{"1001", "Running", "Application", std::string("Gauss step 1"), 1700000001.5, {}};
  auto r = job_record(s, c);
  CHECK(r["JobID"] == 1001);
  CHECK(r["Status"] == "Running");
  CHECK(r["MinorStatus"] == "Application");
  CHECK(r["ApplicationStatus"] == "Gauss step 1");
  CHECK(r["Site"] == "LCG.Example.org");
  CHECK(r["HostName"] == "wn01.example.org");
  CHECK(r["PilotReference"] == "slurm://wn01/1234");
  CHECK(r["Processors"] == 2);
  CHECK(r["CPUTime"] == 120.5);
  CHECK(r["WallClockTime"] == 61.0);
  CHECK(r["Memory"] == (1 << 30));
  CHECK(r["Events"] == 40);
  CHECK(r["timestamp"] == 1700000001500LL);
}

TEST_CASE("unknown figures are absent from a job record, never null") {
  auto s = sample_status();
  JobChange c{"job-x", "Matched", "", std::nullopt, 1700000000, {}};
  auto r = job_record(s, c);
  CHECK(r["JobID"] == "job-x");
  for (const char* absent :
       {"ApplicationStatus", "CPUTime", "WallClockTime", "Memory", "Events", "Processors"})
    CHECK_FALSE(r.contains(absent));
  for (const auto& [k, v] : r.items()) CHECK_FALSE(v.is_null());
}

TEST_CASE("a job's final change takes its figures from the last view") {
  auto s = sample_status();
  JobView last;
  last.id = "1002";
  last.cpu_s = 10;
  last.wall_s = 11;
  JobChange c{"1002", "Done", "Execution Complete", std::nullopt, 1700000002, last};
  auto r = job_record(s, c);
  CHECK(r["CPUTime"] == 10.0);
  CHECK(r["WallClockTime"] == 11.0);
  CHECK_FALSE(r.contains("Memory"));
}

TEST_CASE("the pilot record lists every outcome and request result") {
  auto r = pilot_record(sample_status());
  CHECK(r["State"] == "running");
  CHECK(r["SlotsTotal"] == 4);
  CHECK(r["SlotsBusy"] == 2);
  CHECK(r["JobsRunning"] == 1);
  CHECK(r["WallClockLeft"] == 3600.0);
  CHECK_FALSE(r.contains("CPUWorkLeft"));
  CHECK_FALSE(r.contains("StopReason"));
  CHECK(r["Events"] == 4800);
  CHECK(r["Version"] == "0.1.0");
  CHECK(r["Heartbeats"] == 44);
  CHECK(r["timestamp"] == 1700000000250LL);
  for (auto o : kOutcomes) CHECK(r["JobsFinished"].contains(job_outcome_name(o)));
  for (auto q : kResults) CHECK(r["Requests"].contains(request_result_name(q)));
  CHECK(r["JobsFinished"]["succeeded"] == 12);
  CHECK(r["JobsFinished"]["failed"] == 0);
  CHECK(r["Requests"]["match"] == 13);
}
