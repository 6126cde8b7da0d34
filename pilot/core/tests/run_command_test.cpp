#include <fcntl.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <chrono>

#include "core/run_command.hpp"

using namespace std::chrono_literals;

TEST_CASE("run_command captures stdout, stderr and the exit code") {
  auto r = pilot::run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  REQUIRE(r);
  CHECK(r->exit_code == 3);
  CHECK(r->out == "out\n");
  CHECK(r->err == "err\n");
  CHECK_FALSE(r->ok());
  CHECK_THAT(pilot::describe({"sh", "-c", "x"}, *r), Catch::Contains("exited with 3: err"));
}

TEST_CASE("run_command merges stderr into stdout when asked and sets environment variables") {
  pilot::CommandOptions o;
  o.merge_stderr = true;
  o.set_env = {{"LC_ALL", "C"}, {"PILOT_TEST_VALUE", "v1"}};
  auto r = pilot::run_command({"/bin/sh", "-c", "echo $PILOT_TEST_VALUE; echo $LC_ALL >&2"}, o);
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->out == "v1\nC\n");
}

TEST_CASE("run_command gives a command only set_env when it must not inherit the environment") {
  ::setenv("PILOT_TEST_INHERITED", "leaked", 1);
  pilot::CommandOptions o;
  o.inherit_env = false;
  o.set_env = {{"ONLY", "this"}};
  auto r = pilot::run_command({"/usr/bin/env"}, o);
  ::unsetenv("PILOT_TEST_INHERITED");
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->out == "ONLY=this\n");
}

TEST_CASE("run_command reports a missing executable as nullopt") {
  CHECK_FALSE(pilot::run_command({"pilot-no-such-command-xyz"}).has_value());
  CHECK_FALSE(pilot::run_command({"/nonexistent/bin/cc"}).has_value());
}

TEST_CASE("run_command kills a command that outlives its timeout, with its whole group") {
  pilot::CommandOptions o;
  o.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto r = pilot::run_command({"/bin/sh", "-c", "sleep 30 & sleep 30; echo never"}, o);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(r);
  CHECK(r->timed_out);
  CHECK_FALSE(r->ok());
  CHECK(r->out.empty());
  CHECK(took < 5s);
  CHECK_THAT(pilot::describe({"sh"}, *r), Catch::Contains("timed out"));
}

TEST_CASE("a command that leaves a background child holding its pipes does not block us") {
  auto start = std::chrono::steady_clock::now();
  auto r = pilot::run_command({"/bin/sh", "-c", "(setsid sleep 5 &) ; echo done"});
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->out == "done\n");
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("children do not inherit descriptors opened without O_CLOEXEC") {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately inheritable
  REQUIRE(fd > 2);
  auto r = pilot::run_command({"/bin/sh", "-c", "ls /proc/self/fd"});
  ::close(fd);
  REQUIRE(r);
  CHECK(r->ok());
  // The listing shows 0-2 and the descriptor ls uses for the directory, nothing of ours.
  CHECK(r->out.find("\n" + std::to_string(fd) + "\n") == std::string::npos);
}
