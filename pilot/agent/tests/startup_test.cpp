#include <catch2/catch.hpp>

#include "agent/startup.hpp"
#include "core/fs.hpp"

namespace fs = std::filesystem;
using pilot::agent::NodeRoots;

namespace {

// A local-queue pilot that needs one CVMFS repository, on a node whose files are `node`.
pilot::agent::Config cvmfs_config(const pilot::TempDir& tmp) {
  pilot::agent::Config c;
  c.workdir = tmp.path() / "work";
  c.queue_dir = tmp.path() / "queue";
  fs::create_directories(c.queue_dir);
  c.min_free_disk_mb = 0;
  c.require_cvmfs = true;
  c.cvmfs_repositories = {"lhcb.cern.ch"};
  return c;
}

}  // namespace

TEST_CASE("start-up reads CVMFS under the node root it is given, not the machine's /cvmfs") {
  pilot::TempDir tmp("startup");
  NodeRoots roots;
  roots.files = tmp.path() / "node";
  fs::create_directories(roots.files / "cvmfs/lhcb.cern.ch");

  try {
    pilot::agent::start_up(cvmfs_config(tmp), {}, roots);
    FAIL("an empty repository directory must not count as available");
  } catch (const pilot::agent::StepFailed& e) {
    CHECK(e.step == "node check");
    CHECK_THAT(e.what(), Catch::Contains("lhcb.cern.ch") &&
                             Catch::Contains((roots.files / "cvmfs").string()));
  }

  pilot::write_file_atomic(roots.files / "cvmfs/lhcb.cern.ch/.cvmfsdirtab", "");
  auto st = pilot::agent::start_up(cvmfs_config(tmp), {}, roots);
  CHECK(st.setup.proc_root == "/proc");
  CHECK(st.setup.source);
}

TEST_CASE("start-up hands the agent the process root it is given") {
  pilot::TempDir tmp("startup");
  NodeRoots roots;
  roots.files = tmp.path() / "node";
  roots.proc = tmp.path() / "proc";
  fs::create_directories(roots.files / "cvmfs/lhcb.cern.ch/lib");
  auto st = pilot::agent::start_up(cvmfs_config(tmp), {}, roots);
  CHECK(st.setup.proc_root == roots.proc);
}
