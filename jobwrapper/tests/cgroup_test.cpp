// cgroup detection and the job cgroup, on fixture trees (a tmpfs-like directory layout).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobwrapper/cgroup.hpp"

namespace jw = pilot::jobwrapper;

namespace {

const char* kHybrid =
    "9:name=systemd:/\n8:pids:/batch/job7\n4:memory:/batch/job7\n2:cpu,cpuacct:/batch/job7\n0::/\n";

void cgroup_dir(const std::filesystem::path& p, const std::string& procs = "") {
  std::filesystem::create_directories(p);
  std::ofstream(p / "cgroup.procs") << procs;
}

}  // namespace

TEST_CASE("parse_proc_cgroup reads v1 and v2 lines and rejects garbage naming the line") {
  auto m = jw::parse_proc_cgroup(kHybrid);
  REQUIRE(m.size() == 5);
  CHECK(m[3].controllers == std::vector<std::string>{"cpu", "cpuacct"});
  CHECK(m[3].path == "/batch/job7");
  CHECK(m[4].hierarchy == 0);
  CHECK(m[4].controllers.empty());
  CHECK_THROWS_WITH(jw::parse_proc_cgroup("4:memory\n"), Catch::Contains("4:memory"));
  CHECK_THROWS_AS(jw::parse_proc_cgroup("x:memory:/a\n"), pilot::Error);
}

TEST_CASE("a pure v2 host gets a job cgroup below the pilot's own, never at the root") {
  pilot::TempDir root("jwcg");
  cgroup_dir(root.path() / "slurm" / "job_5");
  auto place = jw::find_cgroup_place(root.path(), "0::/slurm/job_5\n", jw::FsKind::cgroup2,
                                     jw::FsKind::missing);
  REQUIRE(place);
  CHECK(place->version == jw::CgroupVersion::v2);
  CHECK(place->dir == root.path() / "slurm" / "job_5");
  cgroup_dir(root.path());
  CHECK_FALSE(
      jw::find_cgroup_place(root.path(), "0::/\n", jw::FsKind::cgroup2, jw::FsKind::missing));
  // Not a cgroup file system at all.
  CHECK_FALSE(jw::find_cgroup_place(root.path(), "0::/slurm/job_5\n", jw::FsKind::other,
                                    jw::FsKind::missing));
}

TEST_CASE("a hybrid host falls back from a root-level unified cgroup to the v1 memory hierarchy") {
  pilot::TempDir root("jwcg");
  cgroup_dir(root.path() / "unified");
  cgroup_dir(root.path() / "memory" / "batch" / "job7");
  cgroup_dir(root.path() / "pids" / "batch" / "job7");
  auto place = jw::find_cgroup_place(root.path(), kHybrid, jw::FsKind::tmpfs, jw::FsKind::cgroup2);
  REQUIRE(place);
  CHECK(place->version == jw::CgroupVersion::v1);
  CHECK(place->hierarchy == "memory");
  CHECK(place->dir == root.path() / "memory" / "batch" / "job7");

  // A non-hierarchical memory cgroup would let the payload escape the batch limit: use pids.
  std::ofstream(root.path() / "memory" / "batch" / "job7" / "memory.use_hierarchy") << "0\n";
  place = jw::find_cgroup_place(root.path(), kHybrid, jw::FsKind::tmpfs, jw::FsKind::cgroup2);
  REQUIRE(place);
  CHECK(place->hierarchy == "pids");

  // With the pilot in a non-root unified cgroup, v2 wins.
  cgroup_dir(root.path() / "unified" / "batch" / "job7");
  place = jw::find_cgroup_place(root.path(), "4:memory:/batch/job7\n0::/batch/job7\n",
                                jw::FsKind::tmpfs, jw::FsKind::cgroup2);
  REQUIRE(place);
  CHECK(place->version == jw::CgroupVersion::v2);
  CHECK(place->hierarchy == "unified");

  // Every hierarchy at its root: nothing usable.
  CHECK_FALSE(jw::find_cgroup_place(root.path(), "4:memory:/\n8:pids:/\n0::/\n", jw::FsKind::tmpfs,
                                    jw::FsKind::cgroup2));
}

TEST_CASE("flat keyed cgroup files are read by key") {
  CHECK(jw::flat_keyed_value("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n", "oom_kill") == 1u);
  CHECK(jw::flat_keyed_value("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n", "oom_kill") == 4u);
  CHECK(jw::flat_keyed_value("usage_usec 10\nuser_usec 7\nsystem_usec 3\n", "user_usec") == 7u);
  CHECK_FALSE(jw::flat_keyed_value("oom 1\n", "oom_kill"));
  CHECK_FALSE(jw::flat_keyed_value("oom_kill x\n", "oom_kill"));
}

TEST_CASE("a job cgroup reads its members and counters, and is removed when the job is done") {
  pilot::TempDir root("jwcg");
  cgroup_dir(root.path() / "job7");
  jw::CgroupPlace place{jw::CgroupVersion::v2, root.path() / "job7", ""};
  {
    jw::JobCgroup cg(place, "pilot-job-x");
    CHECK(std::filesystem::is_directory(cg.dir()));
    std::ofstream(cg.dir() / "cgroup.procs") << "12\n34\n";
    std::ofstream(cg.dir() / "memory.current") << "1048576\n";
    std::ofstream(cg.dir() / "memory.peak") << "2097152\n";
    std::ofstream(cg.dir() / "memory.events") << "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n";
    std::ofstream(cg.dir() / "cpu.stat")
        << "usage_usec 3000000\nuser_usec 2500000\nsystem_usec 500000\n";
    CHECK(cg.pids() == std::vector<pid_t>{12, 34});
    CHECK(cg.memory_bytes() == 1048576u);
    CHECK(cg.memory_peak_bytes() == 2097152u);
    CHECK(cg.oom_kills() == 1u);
    REQUIRE(cg.cpu());
    CHECK(cg.cpu()->user_s == Approx(2.5));
    CHECK_THAT(cg.describe(), Catch::StartsWith("cgroup2 "));
    // A fixture directory holds files, so rmdir fails like a busy cgroup: not removed.
    CHECK_FALSE(cg.remove());
    for (auto& f : std::filesystem::directory_iterator(cg.dir())) std::filesystem::remove(f.path());
    CHECK(cg.remove());
  }
  CHECK_THROWS_WITH(
      jw::JobCgroup(jw::CgroupPlace{jw::CgroupVersion::v1, root.path() / "nope", "memory"}, "j"),
      Catch::Contains("nope"));
}

TEST_CASE(
    "a lost pilot's job cgroup is adopted only when the record names an existing job cgroup") {
  pilot::TempDir root("jwcg");
  auto dir = root.path() / "pilot-job-1234-ab";
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(root.path() / "system.slice");
  CHECK_FALSE(jw::JobCgroup::adopt("proc"));
  CHECK_FALSE(jw::JobCgroup::adopt(""));
  CHECK_FALSE(jw::JobCgroup::adopt("cgroup2 " + (root.path() / "system.slice").string()));
  CHECK_FALSE(jw::JobCgroup::adopt("cgroup2 relative/pilot-job-1234-ab"));
  CHECK_FALSE(jw::JobCgroup::adopt("cgroup2 " + (root.path() / "pilot-job-gone").string()));
  CHECK_FALSE(jw::JobCgroup::adopt("cgroup3 " + dir.string()));
  {
    auto cg = jw::JobCgroup::adopt("cgroup1 " + dir.string());
    REQUIRE(cg);
    CHECK(cg->version() == jw::CgroupVersion::v1);
    CHECK(cg->describe() == "cgroup1 " + dir.string());
  }
  CHECK_FALSE(std::filesystem::exists(dir));  // empty, so removed with the adopted object
  CHECK(std::filesystem::exists(root.path() / "system.slice"));
}

TEST_CASE(
    "job cgroups a lost pilot never recorded are removed when empty and their pilot is gone") {
  pilot::TempDir root("jwcg");
  auto place_dir = root.path() / "slot";
  auto proc = root.path() / "proc";
  std::filesystem::create_directories(proc / "4242");  // a live pilot
  auto dir = [&](const std::string& name) {
    std::filesystem::create_directories(place_dir / name);
    return place_dir / name;
  };
  auto abandoned = dir("pilot-job-999-0011223344556677");
  auto busy = dir("pilot-job-998-8899aabbccddeeff");
  pilot::write_file_atomic(busy / "cgroup.procs", "1234\n");  // an orphan payload still runs
  auto live = dir("pilot-job-4242-0011223344556677");
  auto mine = dir("pilot-job-" + std::to_string(::getpid()) + "-00");
  auto other = dir("system.slice");
  auto odd = dir("pilot-job-x-1");
  auto removed =
      jw::remove_abandoned_job_cgroups(jw::CgroupPlace{jw::CgroupVersion::v2, place_dir, ""}, proc);
  CHECK(removed == std::vector<std::filesystem::path>{abandoned});
  CHECK_FALSE(std::filesystem::exists(abandoned));
  for (const auto& kept : {busy, live, mine, other, odd}) CHECK(std::filesystem::exists(kept));
}

TEST_CASE("cgroup: this process's own place needs its membership in the proc root") {
  pilot::TempDir root("cg-own");
  auto proc = root.path() / "proc";
  std::filesystem::create_directories(proc / "self");
  CHECK_FALSE(jw::find_own_cgroup_place(root.path() / "sys", proc));  // no self/cgroup
  // A plain directory is no cgroup file system, whatever the membership says.
  pilot::write_file_atomic(proc / "self" / "cgroup", "0::/slurm/job_5\n");
  std::filesystem::create_directories(root.path() / "sys" / "slurm" / "job_5");
  CHECK_FALSE(jw::find_own_cgroup_place(root.path() / "sys", proc));
}
