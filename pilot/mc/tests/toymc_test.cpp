// The toy MC payload must behave like an interruptible Gaudi application, since the
// interruptible-MC tests and benchmarks rely on it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/fs.hpp"
#include "mc/checkpoint.hpp"
#include "mc/xml_summary.hpp"
#include "output_files.hpp"

extern char** environ;

namespace {

struct Toy {
  pid_t pid = -1;
  int status = 0;
};

Toy start_toy(const std::filesystem::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), TOYMC_BIN);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string cp = std::string(pilot::mc::kEnvCheckpointFile) + "=" + (dir / "checkpoint").string();
  std::vector<char*> env{cp.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  Toy t;
  REQUIRE(posix_spawn(&t.pid, argv[0], &fa, nullptr, argv.data(), env.data()) == 0);
  posix_spawn_file_actions_destroy(&fa);
  return t;
}

int wait_toy(Toy& t) {
  REQUIRE(waitpid(t.pid, &t.status, 0) == t.pid);
  return t.status;
}

void wait_for_checkpoint(const std::filesystem::path& dir, std::int64_t at_least) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto cp = pilot::mc::read_checkpoint(dir / "checkpoint");
    if (cp && cp->events >= at_least) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("no checkpoint with " << at_least << " events");
}

}  // namespace

TEST_CASE("toymc: a full run produces every event, a finalised summary and exit 0") {
  pilot::TempDir dir("toymc");
  auto t = start_toy(dir.path(), {"--events", "20", "--cpu-ms-per-event", "1"});
  int st = wait_toy(t);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(pilot::test::count_lines(dir.path() / "toymc.out") == 20);
  auto cp = pilot::mc::read_checkpoint(dir.path() / "checkpoint");
  REQUIRE(cp);
  CHECK(cp->events == 20);
  // The CPU time when those events were safe (ci/bench's reclaim yield): at least 20 x 1 ms.
  REQUIRE(cp->extras.count("cpu_ms") == 1);
  CHECK(std::stod(cp->extras.at("cpu_ms")) >= 20.0);
  auto s = pilot::mc::read_xml_summary(dir.path() / "summary.xml");
  REQUIRE(s);
  CHECK(s->finalised());
  CHECK(s->events() == 20);
}

TEST_CASE("toymc: a stop signal ends it at an event boundary with 128+signal, all counts equal") {
  pilot::TempDir dir("toymc");
  auto t = start_toy(dir.path(), {"--events", "100000", "--cpu-ms-per-event", "5"});
  wait_for_checkpoint(dir.path(), 3);
  ::kill(t.pid, SIGUSR1);
  int st = wait_toy(t);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 128 + SIGUSR1);
  auto cp = pilot::mc::read_checkpoint(dir.path() / "checkpoint");
  auto s = pilot::mc::read_xml_summary(dir.path() / "summary.xml");
  REQUIRE(cp);
  REQUIRE(s);
  CHECK(s->finalised());
  CHECK(cp->events >= 3);
  CHECK(cp->events < 100000);
  CHECK(s->events() == cp->events);
  CHECK(pilot::test::count_lines(dir.path() / "toymc.out") == cp->events);
}

TEST_CASE("toymc --ignore-stop survives the stop signal and dies unfinalised on SIGTERM") {
  pilot::TempDir dir("toymc");
  auto t =
      start_toy(dir.path(), {"--events", "100000", "--cpu-ms-per-event", "2", "--ignore-stop"});
  wait_for_checkpoint(dir.path(), 2);
  ::kill(t.pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(waitpid(t.pid, &t.status, WNOHANG) == 0);  // still running
  ::kill(t.pid, SIGTERM);
  int st = wait_toy(t);
  CHECK(WIFSIGNALED(st));
  auto cp = pilot::mc::read_checkpoint(dir.path() / "checkpoint");
  REQUIRE(cp);
  CHECK(cp->events >= 2);
  CHECK(pilot::test::count_lines(dir.path() / "toymc.out") >=
        cp->events);  // the checkpoint never runs ahead of the output
  CHECK_FALSE(pilot::mc::read_xml_summary(dir.path() / "summary.xml")->finalised());
}
