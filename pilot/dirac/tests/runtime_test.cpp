// Finding the DIRAC runtime: real shells sourcing real scripts in a tree that stands for CVMFS.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <chrono>

#include "core/fs.hpp"
#include "dirac/runtime.hpp"
#include "node_files.hpp"

namespace fs = std::filesystem;
using pilot::dirac::RuntimeOptions;
using pilot::dirac::RuntimeSource;
using namespace std::chrono_literals;

namespace {

void put(const fs::path& file, const std::string& text, bool executable = false) {
  pilot::test::put_file(file, text);
  if (executable) ::chmod(file.c_str(), 0755);
}

// <root>/dirac/<version>/diracosrc puts <version>/bin (with dirac-jobexec) on PATH, like DIRACOS.
fs::path make_diracos(const fs::path& root, const std::string& version) {
  auto dir = root / "dirac" / version;
  put(dir / "bin" / "dirac-jobexec", "#!/bin/sh\nexit 0\n", true);
  put(dir / "diracosrc",
      "echo 'sourcing DIRACOS' \n"
      "export DIRACOS=" +
          dir.string() +
          "\n"
          "export PATH=" +
          (dir / "bin").string() +
          ":$PATH\n"
          "export RUNTIME_ARGS=\"$*\"\n"
          "export X509_CERT_DIR=" +
          (dir / "etc/grid-security/certificates").string() + "\n");
  return dir / "diracosrc";
}

}  // namespace

TEST_CASE("DIRAC runtime: the script's environment is captured from a clean shell") {
  pilot::TempDir tmp("dirac-runtime");
  auto script = make_diracos(tmp.path(), "v8.0.55");
  ::setenv("PILOT_SECRET_OF_THE_PILOT", "must not leak", 1);
  RuntimeOptions o;
  o.sources = {{script, {"v8.0.55", "--quiet"}}};
  auto rt = pilot::dirac::find_runtime(o);
  ::unsetenv("PILOT_SECRET_OF_THE_PILOT");
  CHECK(rt.source.describe() == script.string() + " v8.0.55 --quiet");
  CHECK(rt.jobexec == tmp.path() / "dirac/v8.0.55/bin/dirac-jobexec");
  CHECK(rt.diracroot == tmp.path() / "dirac/v8.0.55");
  CHECK(rt.environment.at("RUNTIME_ARGS") == "v8.0.55 --quiet");
  CHECK(rt.environment.at("X509_CERT_DIR") ==
        (tmp.path() / "dirac/v8.0.55/etc/grid-security/certificates").string());
  CHECK_THAT(rt.environment.at("PATH"),
             Catch::StartsWith((tmp.path() / "dirac/v8.0.55/bin").string() + ":"));
  CHECK(rt.environment.count("PILOT_SECRET_OF_THE_PILOT") == 0);
  CHECK(rt.environment.count("SHLVL") == 0);
  CHECK(rt.environment.count("PWD") == 0);
  CHECK(rt.environment.at("LANG") == "C");
}

TEST_CASE("DIRAC runtime: DIRACROOT wins over DIRACOS, else the directory above bin/") {
  pilot::TempDir tmp("dirac-runtime");
  put(tmp.path() / "lhcb/bin/dirac-jobexec", "#!/bin/sh\n", true);
  put(tmp.path() / "lhcbdirac", "export PATH=" + (tmp.path() / "lhcb/bin").string() +
                                    ":$PATH\nexport DIRACROOT=/opt/dirac\n");
  put(tmp.path() / "plain", "export PATH=" + (tmp.path() / "lhcb/bin").string() + ":$PATH\n");
  RuntimeOptions o;
  CHECK(pilot::dirac::source_runtime({tmp.path() / "lhcbdirac"}, o).diracroot == "/opt/dirac");
  CHECK(pilot::dirac::source_runtime({tmp.path() / "plain"}, o).diracroot == tmp.path() / "lhcb");
}

TEST_CASE("DIRAC runtime: candidates are tried in order and every failure is named") {
  pilot::TempDir tmp("dirac-runtime");
  auto good = make_diracos(tmp.path(), "v9.0.0");
  put(tmp.path() / "failing", "echo 'lhcbdirac: version v0 not installed' >&2\nreturn 3\n");
  put(tmp.path() / "hanging", "sleep 30\n");
  put(tmp.path() / "no-dirac", "export PATH=/usr/bin:/bin\n");
  RuntimeOptions o;
  o.timeout = 500ms;
  o.sources = {{tmp.path() / "missing", {"v1"}},
               {tmp.path() / "failing", {"v0"}},
               {tmp.path() / "hanging"},
               {tmp.path() / "no-dirac"}};
  try {
    pilot::dirac::find_runtime(o);
    FAIL("a runtime was found");
  } catch (const pilot::dirac::RuntimeNotFound& e) {
    REQUIRE(e.attempts.size() == 4);
    CHECK(e.attempts[0] == (tmp.path() / "missing").string() + " v1: no such file");
    CHECK(e.attempts[1] == (tmp.path() / "failing").string() +
                               " v0: sourcing it failed (exit status 3): lhcbdirac: version v0 "
                               "not installed");
    CHECK(e.attempts[2] ==
          (tmp.path() / "hanging").string() + ": sourcing it did not end within 0.5 s");
    CHECK(e.attempts[3] == (tmp.path() / "no-dirac").string() +
                               ": no dirac-jobexec on the PATH it sets (/usr/bin:/bin)");
    CHECK_THAT(std::string(e.what()), Catch::StartsWith("no DIRAC runtime found:\n  ") &&
                                          Catch::Contains("\n  " + e.attempts[3]));
  }
  o.sources.push_back({good});
  CHECK(pilot::dirac::find_runtime(o).source.script == good);
}

TEST_CASE("DIRAC runtime: none configured is its own error") {
  CHECK_THROWS_WITH(pilot::dirac::find_runtime({}), "no DIRAC runtime configured (dirac_runtime)");
}

TEST_CASE("DIRAC runtime: env -0 output is read with values holding '=' and newlines") {
  constexpr char kOutput[] = "A=1\0B=x=y\nz\0NOEQ\0=bad\0";
  auto env = pilot::dirac::parse_env0(std::string(kOutput, sizeof kOutput - 1));
  CHECK(env == std::map<std::string, std::string>{{"A", "1"}, {"B", "x=y\nz"}});
}
