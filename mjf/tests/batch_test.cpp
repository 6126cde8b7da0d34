// Batch providers against real helper programs: small scripts named squeue, scontrol, qstat and
// bjobs in a PATH given through the environment map, printing what the real commands print.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>

#include "mjf/batch.hpp"
#include "mjf_test_support.hpp"

using namespace std::chrono_literals;
using namespace pilot::mjf;

namespace {

struct Bin {
  pilot::TempDir dir{"mjf-bin"};
  void script(const std::string& name, const std::string& body) {
    auto p = dir.path() / name;
    mjf_test::put_file(p, "#!/bin/sh\n" + body + "\n");
    ::chmod(p.c_str(), 0755);
  }
  // The scripts come first in PATH; the system directories follow for sh's own tools, unless
  // `only` asks for a PATH holding nothing else (then real squeue etc. are not found either).
  Environment env(Environment extra, bool only = false) const {
    extra["PATH"] = dir.path().string() + (only ? "" : ":/usr/bin:/bin");
    return extra;
  }
};

BatchQuery query(std::int64_t now = 1700000000) {
  BatchQuery q;
  q.now = now;
  q.timeout = 2000ms;
  return q;
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("the batch system and job id come from the environment") {
  CHECK_FALSE(detect_batch_job({}));
  CHECK_FALSE(detect_batch_job({{"SLURM_JOB_ID", ""}}));
  auto s = detect_batch_job({{"SLURM_JOB_ID", "42"}});
  REQUIRE(s);
  CHECK(s->system == "slurm");
  CHECK(s->job_id == "42");
  CHECK(detect_batch_job({{"SLURM_JOBID", "43"}})->job_id == "43");
  CHECK(detect_batch_job({{"PBS_JOBID", "1234.pbs"}})->system == "pbs");
  CHECK(detect_batch_job({{"LSB_JOBID", "77"}})->system == "lsf");
  CHECK_FALSE(detect_batch_job({{"JOB_ID", "5"}}));  // too generic without SGE's other variables
  CHECK(detect_batch_job({{"JOB_ID", "5"}, {"SGE_ROOT", "/opt/sge"}})->system == "sge");

  pilot::TempDir tmp("mjf");
  mjf_test::put_file(tmp.path() / "job.ad", "ClusterId = 123\nProcId = 4\n");
  auto c = detect_batch_job({{"_CONDOR_JOB_AD", (tmp.path() / "job.ad").string()}});
  REQUIRE(c);
  CHECK(c->system == "htcondor");
  CHECK(c->job_id == "123.4");
  mjf_test::put_file(tmp.path() / "job2.ad",
                     "GlobalJobId = \"ce.example#123.4#1700000000\"\nClusterId = 123\n");
  CHECK(detect_batch_job({{"_CONDOR_JOB_AD", (tmp.path() / "job2.ad").string()}})->job_id ==
        "ce.example#123.4#1700000000");
  auto missing = detect_batch_job({{"_CONDOR_JOB_AD", (tmp.path() / "nope.ad").string()}});
  REQUIRE(missing);
  CHECK(missing->system == "htcondor");
  CHECK(missing->job_id.empty());
}

TEST_CASE("processors come from the batch environment in glideinWMS order") {
  pilot::TempDir tmp("mjf");
  mjf_test::put_file(tmp.path() / "machine.ad", "Cpus = 8\nMemory = 16000\n");
  Environment env{{"_CONDOR_MACHINE_AD", (tmp.path() / "machine.ad").string()},
                  {"PBS_NUM_PPN", "7"},
                  {"PBS_NP", "6"},
                  {"LSB_MCPU_HOSTS", "wn01 5 wn02 3"},
                  {"SLURM_CPUS_ON_NODE", "4"},
                  {"SLURM_CPUS_PER_TASK", "3"},
                  {"SLURM_JOB_CPUS_PER_NODE", "2(x3)"},
                  {"NSLOTS", "1"}};
  auto order = std::vector<std::pair<std::string, std::int64_t>>{{"_CONDOR_MACHINE_AD", 8},
                                                                 {"PBS_NUM_PPN", 7},
                                                                 {"PBS_NP", 6},
                                                                 {"LSB_MCPU_HOSTS", 5},
                                                                 {"SLURM_CPUS_ON_NODE", 4},
                                                                 {"SLURM_CPUS_PER_TASK", 3},
                                                                 {"SLURM_JOB_CPUS_PER_NODE", 2},
                                                                 {"NSLOTS", 1}};
  for (const auto& [var, count] : order) {
    auto p = processors_from_environment(env);
    REQUIRE(p);
    CHECK(p->count == count);
    CHECK(p->source.starts_with(var));
    env.erase(var);
  }
  CHECK_FALSE(processors_from_environment(env));
  CHECK_FALSE(processors_from_environment({{"SLURM_CPUS_ON_NODE", "0"}}));
  CHECK_FALSE(processors_from_environment({{"SLURM_CPUS_ON_NODE", "four"}}));
  CHECK(processors_from_environment({{"SLURM_JOB_CPUS_PER_NODE", "4,2"}})->count == 4);
}

TEST_CASE("Slurm: SLURM_JOB_END_TIME wins and no command is run") {
  Bin bin;
  bin.script("squeue", "echo called >> \"$0.log\"; echo 1:00");
  auto l =
      query_batch_limits({"slurm", "42"}, bin.env({{"SLURM_JOB_END_TIME", "1700000500"}}), query());
  CHECK(l.end_time == 1700000500);
  CHECK_FALSE(std::filesystem::exists(bin.dir.path() / "squeue.log"));
}

TEST_CASE("Slurm: squeue %L time left becomes an end time - memory from SLURM_MEM_PER_NODE") {
  Bin bin;
  bin.script("squeue", "[ \"$*\" = \"-h -j 42 -o %L\" ] || exit 3; echo 1:48");
  auto l = query_batch_limits(
      {"slurm", "42"}, bin.env({{"SLURM_JOB_END_TIME", "soon"}, {"SLURM_MEM_PER_NODE", "2000"}}),
      query());
  CHECK(l.end_time == 1700000108);
  CHECK(l.memory_bytes == 2000LL << 20);
  CHECK(mentions(l.problems, "SLURM_JOB_END_TIME='soon'"));

  bin.script("squeue", "echo 2-03:04:05");
  CHECK(query_batch_limits({"slurm", "42"}, bin.env({}), query()).end_time == 1700000000 + 183845);
  bin.script("squeue", "echo UNLIMITED");
  auto u = query_batch_limits({"slurm", "42"}, bin.env({}), query());
  CHECK(u.unlimited);
  CHECK_FALSE(u.end_time);
}

TEST_CASE("Slurm: INVALID or a failing squeue falls back to scontrol EndTime") {
  Bin bin;
  bin.script("squeue", "echo INVALID");
  bin.script("scontrol",
             "[ \"$*\" = \"show job -o 42\" ] || exit 3; "
             "echo 'JobId=42 TimeLimit=00:02:00 StartTime=2026-11-25T11:00:00 "
             "EndTime=2026-11-25T11:02:00'");
  auto l = query_batch_limits({"slurm", "42"}, bin.env({}), query());
  auto end = mjf_test::local_epoch(2026, 11, 25, 11, 2, 0);
  CHECK(l.end_time == end);
  CHECK(mentions(l.problems, "INVALID"));

  bin.script("squeue", "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1");
  l = query_batch_limits({"slurm", "42"}, bin.env({}), query());
  CHECK(l.end_time == end);
  CHECK(mentions(l.problems, "Invalid job id specified"));
}

TEST_CASE("Slurm: missing, failing and hanging commands are reported, not fatal") {
  Bin bin;
  auto l = query_batch_limits({"slurm", "42"}, bin.env({}, true), query());
  CHECK_FALSE(l.end_time);
  CHECK(mentions(l.problems, "`squeue` is not in PATH"));
  CHECK(mentions(l.problems, "`scontrol` is not in PATH"));

  bin.script("squeue", "sleep 30");
  bin.script("scontrol", "exit 1");
  auto q = query();
  q.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  l = query_batch_limits({"slurm", "42"}, bin.env({}), q);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK_FALSE(l.end_time);
  CHECK(mentions(l.problems, "timed out"));
  CHECK(l.problems.size() >= 2);
}

TEST_CASE("HTCondor: start date plus MaxRuntime or MaxWallTimeMins - memory from the machine ad") {
  pilot::TempDir tmp("mjf");
  mjf_test::put_file(tmp.path() / "job.ad",
                     "ClusterId = 1\nProcId = 0\nJobStartDate = 1700000000\nMaxRuntime = 3600\n");
  mjf_test::put_file(tmp.path() / "machine.ad", "Cpus = 4\nMemory = 8000\n");
  Environment env{{"_CONDOR_JOB_AD", (tmp.path() / "job.ad").string()},
                  {"_CONDOR_MACHINE_AD", (tmp.path() / "machine.ad").string()}};
  auto l = query_batch_limits({"htcondor", "1.0"}, env, query());
  CHECK(l.end_time == 1700003600);
  CHECK(l.memory_bytes == 8000LL << 20);
  CHECK(l.problems.empty());

  mjf_test::put_file(
      tmp.path() / "job.ad",
      "JobStartDate = 1700000000\nJobCurrentStartDate = 1700000100\nMaxWallTimeMins = 60\n");
  CHECK(query_batch_limits({"htcondor", ""}, env, query()).end_time == 1700003700);

  mjf_test::put_file(tmp.path() / "job.ad", "JobStartDate = 1700000000\nMaxRuntime = 3600 * 24\n");
  l = query_batch_limits({"htcondor", ""}, env, query());
  CHECK_FALSE(l.end_time);
  CHECK(mentions(l.problems, "MaxRuntime"));

  env["_CONDOR_MACHINE_AD"] = (tmp.path() / "gone.ad").string();
  l = query_batch_limits({"htcondor", ""}, env, query());
  CHECK(mentions(l.problems, "gone.ad"));
}

TEST_CASE("PBS/Torque: qstat -f limits minus usage") {
  Bin bin;
  bin.script("qstat",
             "[ \"$*\" = \"-f 1234.pbs\" ] || exit 3; cat <<'X'\n"
             "Job Id: 1234.pbs\n    resources_used.cput = 00:10:00\n    resources_used.walltime = "
             "01:00:00\n"
             "    Resource_List.walltime = 48:00:00\n    Resource_List.cput = 02:00:00\n    "
             "Resource_List.mem = 4gb\nX");
  auto l = query_batch_limits({"pbs", "1234.pbs"}, bin.env({}), query());
  CHECK(l.end_time == 1700000000 + 47 * 3600);
  CHECK(l.cpu_seconds_left == 6600);
  CHECK(l.memory_bytes == 4LL << 30);
  bin.script("qstat", "echo 'qstat: Unknown Job Id 1234.pbs' >&2; exit 153");
  l = query_batch_limits({"pbs", "1234.pbs"}, bin.env({}), query());
  CHECK_FALSE(l.end_time);
  CHECK(mentions(l.problems, "Unknown Job Id"));
}

TEST_CASE("LSF: bjobs -W FINISH_TIME, '-' means no run limit") {
  Bin bin;
  bin.script("bjobs",
             "cat <<'X'\nJOBID USER STAT QUEUE FROM_HOST EXEC_HOST JOB_NAME SUBMIT_TIME PROJ_NAME "
             "CPU_USED MEM SWAP PIDS START_TIME FINISH_TIME\n"
             "77 lhcb RUN grid ce wn pilot 11/25-10:00:00 default 000:00:01.00 3 0 42 "
             "11/25-10:00:05 11/25-12:00:05 L\nX");
  auto now = mjf_test::local_epoch(2026, 11, 25, 11, 0, 0);
  auto l = query_batch_limits({"lsf", "77"}, bin.env({}), query(now));
  CHECK(l.end_time == now + 3605);
  bin.script("bjobs",
             "cat <<'X'\nJOBID USER STAT QUEUE FROM_HOST EXEC_HOST JOB_NAME SUBMIT_TIME PROJ_NAME "
             "CPU_USED MEM SWAP PIDS START_TIME FINISH_TIME\n"
             "77 lhcb RUN grid ce wn pilot 11/25-10:00:00 default 000:00:01.00 3 0 42 "
             "11/25-10:00:05 -\nX");
  l = query_batch_limits({"lsf", "77"}, bin.env({}), query(now));
  CHECK(l.unlimited);
  bin.script("bjobs", "echo 'Job <77> is not found'");
  l = query_batch_limits({"lsf", "77"}, bin.env({}), query(now));
  CHECK(mentions(l.problems, "no job row"));
}

TEST_CASE("SGE: the earlier of h_rt and s_rt minus wallclock - CPU limit minus cpu used") {
  Bin bin;
  bin.script("qstat",
             "cat <<'X'\njob_number:                 4711\n"
             "hard resource_list:         h_rt=86400,s_rt=86000,h_cpu=7200,h_vmem=2G\n"
             "usage    1:                 wallclock=01:00:00, cpu=00:30:00, mem=10.5 GBs\nX");
  auto l = query_batch_limits({"sge", "4711"}, bin.env({}), query());
  CHECK(l.end_time == 1700000000 + 86000 - 3600);
  CHECK(l.cpu_seconds_left == 5400);
  CHECK(l.memory_bytes == 2LL << 30);
}

TEST_CASE("an unknown batch system is a problem, not an exception") {
  auto l = query_batch_limits({"nqs", "1"}, {}, query());
  CHECK(mentions(l.problems, "nqs"));
}

TEST_CASE("environment_of snapshots KEY=value strings") {
  const char* e[] = {"A=1", "B=x=y", "EMPTY=", "junk", nullptr};
  auto env = environment_of(const_cast<char**>(e));
  CHECK(env.at("A") == "1");
  CHECK(env.at("B") == "x=y");
  CHECK(env.at("EMPTY").empty());
  CHECK(env.count("junk") == 0);
}
