#include <catch2/catch.hpp>
#include <ctime>

#include "mjf/batch_parsers.hpp"
#include "mjf_test_support.hpp"

using namespace pilot::mjf;

using mjf_test::local_epoch;

TEST_CASE("squeue %L: M:SS, H:MM:SS, D-HH:MM:SS, UNLIMITED - INVALID and garbage are nothing") {
  CHECK(parse_squeue_time_left("1:48\n")->seconds == 108);
  CHECK(parse_squeue_time_left("0:00")->seconds == 0);
  CHECK(parse_squeue_time_left("12:00:01")->seconds == 43201);
  CHECK(parse_squeue_time_left("2-03:04:05")->seconds == 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
  // Fields too large to add up in seconds are garbage (found by fuzzing: signed overflow).
  CHECK_FALSE(parse_squeue_time_left("1000000000000000008"));
  CHECK_FALSE(parse_squeue_time_left("99999999999999999-00:00:00"));
  CHECK_FALSE(parse_clock_duration("9999999999999999:00:00:00"));
  CHECK(parse_squeue_time_left("1-00")->seconds == 86400);
  CHECK(parse_squeue_time_left("1-02:30")->seconds == 86400 + 2 * 3600 + 30 * 60);
  auto u = parse_squeue_time_left("UNLIMITED\n");
  REQUIRE(u);
  CHECK(u->unlimited);
  CHECK_FALSE(u->seconds);
  CHECK_FALSE(parse_squeue_time_left("INVALID"));
  CHECK_FALSE(parse_squeue_time_left("NOT_SET"));
  CHECK_FALSE(parse_squeue_time_left(""));
  CHECK_FALSE(parse_squeue_time_left("1:2:3:4"));
  CHECK_FALSE(parse_squeue_time_left("-1:00"));
  CHECK_FALSE(parse_squeue_time_left("1:xx"));
  CHECK_FALSE(parse_squeue_time_left("slurm_load_jobs error: Invalid job id specified"));
}

TEST_CASE("scontrol show job -o: EndTime in local time, UNLIMITED, Unknown") {
  std::string line =
      "JobId=42 JobName=pilot UserId=root(0) JobState=RUNNING Reason=None TimeLimit=00:02:00 "
      "SubmitTime=2026-11-25T10:59:58 StartTime=2026-11-25T11:00:00 EndTime=2026-11-25T11:02:00 "
      "Deadline=N/A NumCPUs=1\n";
  auto e = parse_scontrol_end_time(line);
  REQUIRE(e);
  CHECK(e->epoch == local_epoch(2026, 11, 25, 11, 2, 0));
  CHECK_FALSE(e->unlimited);
  auto u = parse_scontrol_end_time("JobId=1 TimeLimit=UNLIMITED EndTime=Unknown");
  REQUIRE(u);
  CHECK(u->unlimited);
  CHECK_FALSE(parse_scontrol_end_time("JobId=1 TimeLimit=00:10:00 EndTime=Unknown"));
  CHECK_FALSE(parse_scontrol_end_time("slurm_load_jobs error: Invalid job id specified"));
  CHECK(parse_key_values("A=1 B= C=x=y")["C"] == "x=y");
}

TEST_CASE("ClassAd files: case-insensitive names, quoted strings") {
  auto ad = parse_classad(
      "Cpus = 8\nMemory = 16000\nGlobalJobId = \"ce.example#123.0#1700000000\"\n"
      "JobStartDate = 1700000000\nMaxRuntime = 3600 * 24\nnot a line\n");
  CHECK(ad["cpus"] == "8");
  CHECK(ad["memory"] == "16000");
  CHECK(ad["globaljobid"] == "ce.example#123.0#1700000000");
  CHECK(ad["jobstartdate"] == "1700000000");
  CHECK(ad["maxruntime"] == "3600 * 24");  // an expression, which the provider will not use
}

TEST_CASE("clock durations and sizes as PBS, SGE and LSF print them") {
  CHECK(parse_clock_duration("3600") == 3600);
  CHECK(parse_clock_duration("01:02:03") == 3723);
  CHECK(parse_clock_duration("48:00:00") == 172800);
  CHECK(parse_clock_duration("1:02:03:04") == 86400 + 7200 + 180 + 4);
  CHECK(parse_clock_duration("000:00:01.50") == 1);
  CHECK_FALSE(parse_clock_duration("1:2:3:4:5"));
  CHECK_FALSE(parse_clock_duration("-1"));
  CHECK_FALSE(parse_clock_duration("N/A"));
  CHECK_FALSE(parse_clock_duration("1:.5"));
  CHECK(parse_size("2gb") == 2LL << 30);
  CHECK(parse_size("4000mb") == 4000LL << 20);
  CHECK(parse_size("512kb") == 512LL << 10);
  CHECK(parse_size("100b") == 100);
  CHECK(parse_size("8w") == 64);
  CHECK(parse_size("2G") == 2LL << 30);
  CHECK(parse_size("1000") == 1000);
  CHECK_FALSE(parse_size("2.5gb"));
  CHECK_FALSE(parse_size("lots"));
  CHECK_FALSE(parse_size("99999999999tb"));
}

TEST_CASE("qstat -f (PBS/Torque) attributes, with wrapped lines") {
  auto kv = parse_qstat_f(
      "Job Id: 1234.pbs.example.org\n"
      "    Job_Name = pilot\n"
      "    resources_used.cput = 00:10:00\n"
      "    resources_used.walltime = 01:00:00\n"
      "    Resource_List.walltime = 48:00:00\n"
      "    Resource_List.cput = 96:00:00\n"
      "    Resource_List.mem = 4gb\n"
      "    Variable_List = PBS_O_HOME=/root,PBS_O_LANG=C,\n"
      "\tPBS_O_PATH=/usr/bin\n");
  CHECK(kv["Resource_List.walltime"] == "48:00:00");
  CHECK(kv["resources_used.walltime"] == "01:00:00");
  CHECK(kv["Resource_List.mem"] == "4gb");
  CHECK(kv["Variable_List"] == "PBS_O_HOME=/root,PBS_O_LANG=C,PBS_O_PATH=/usr/bin");
}

TEST_CASE("bjobs -W (LSF): columns, names with spaces, finish time without a year") {
  std::string out =
      "JOBID   USER    STAT  QUEUE      FROM_HOST   EXEC_HOST   JOB_NAME   SUBMIT_TIME  PROJ_NAME "
      "CPU_USED MEM SWAP PIDS START_TIME FINISH_TIME\n"
      "1234    lhcb001 RUN   grid       ce01        wn042       pilot      11/25-10:00:00 default "
      "000:00:01.00 3 0 4242 11/25-10:00:05 11/27-10:00:05 L\n";
  auto row = parse_bjobs_w(out);
  CHECK(row["JOBID"] == "1234");
  CHECK(row["STAT"] == "RUN");
  CHECK(row["CPU_USED"] == "000:00:01.00");
  CHECK(row["FINISH_TIME"] == "11/27-10:00:05");
  auto spaced = parse_bjobs_w(
      "JOBID USER STAT QUEUE FROM_HOST EXEC_HOST JOB_NAME SUBMIT_TIME PROJ_NAME CPU_USED MEM SWAP "
      "PIDS START_TIME FINISH_TIME\n"
      "7 u RUN q h w my pilot job 11/25-10:00:00 default 000:00:01.00 3 0 1,2 11/25-10:00:05 -\n");
  CHECK(spaced["FINISH_TIME"] == "-");
  CHECK(spaced["EXEC_HOST"] == "w");
  auto now = local_epoch(2026, 12, 31, 23, 0, 0);
  CHECK(parse_lsf_time("01/01-01:00:00", now) == local_epoch(2027, 1, 1, 1, 0, 0));
  CHECK(parse_lsf_time("12/30-01:00:00", now) == local_epoch(2026, 12, 30, 1, 0, 0));
  CHECK_FALSE(parse_lsf_time("-", now));
  CHECK(parse_bjobs_w("Job <99> is not found\n").empty());
}

TEST_CASE("qstat -j (SGE): resource lists and usage are split") {
  auto kv = parse_qstat_j(
      "==============================================================\n"
      "job_number:                 4711\n"
      "hard resource_list:         h_rt=86400,h_vmem=2G,s_rt=86000\n"
      "usage    1:                 wallclock=01:00:00, cpu=00:30:00, mem=10.5 GBs, io=0.1, "
      "vmem=N/A, maxvmem=N/A\n");
  CHECK(kv["job_number"] == "4711");
  CHECK(kv["hard resource_list.h_rt"] == "86400");
  CHECK(kv["hard resource_list.s_rt"] == "86000");
  CHECK(kv["hard resource_list.h_vmem"] == "2G");
  CHECK(kv["usage.wallclock"] == "01:00:00");
  CHECK(kv["usage.cpu"] == "00:30:00");
}
