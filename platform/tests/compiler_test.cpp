#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "platform/compiler.hpp"

using namespace pilot::platform;

TEST_CASE("compiler id: gcc >= 7 and icc keep the major, older gcc and clang also the minor") {
  CHECK(compiler_id_from_output("Thread model: posix\ngcc version 11.4.1 20231218 (GCC)\n") ==
        "gcc11");
  CHECK(compiler_id_from_output("gcc version 7.3.0 (GCC)") == "gcc7");
  CHECK(compiler_id_from_output("gcc version 6.2.0 (GCC)") == "gcc62");
  CHECK(compiler_id_from_output("gcc version 4.8.5 20150623 (Red Hat 4.8.5-16) (GCC)") == "gcc48");
  CHECK(compiler_id_from_output("clang version 16.0.6 (Red Hat 16.0.6-1.el9)\n") == "clang160");
  CHECK(compiler_id_from_output("Apple LLVM version 10.0.1 (clang-1001.0.46.4)") == "clang100");
  CHECK(compiler_id_from_output("icc version 18.0.5 (gcc version 4.8.5 compatibility)") == "icc18");
  CHECK(compiler_id_from_output("new fancy stuff 10.0\n") == "unknown");
  CHECK(compiler_id_from_output("gcc version 12 (no minor)") == "unknown");
  CHECK(compiler_id_from_output("") == "unknown");
  CHECK(compiler_id_from_output(std::string("\xff\x00gcc version 9.1.0", 19)) == "gcc9");
}

namespace {
std::string script(const pilot::TempDir& dir, const std::string& body) {
  auto path = dir.path() / "cc";
  pilot::write_file_atomic(path, "#!/bin/sh\n" + body, 0755);
  return path.string();
}
}  // namespace

TEST_CASE("compiler id runs $CC -v once with LC_ALL=C, stderr merged") {
  pilot::TempDir dir;
  auto cc = script(dir,
                   "[ \"$1\" = -v ] || exit 3\necho run >> \"$(dirname \"$0\")/runs\"\n"
                   "echo \"gcc version 12.2.0 LC_ALL=$LC_ALL\" >&2\n");
  CHECK(compiler_id(cc) == "gcc12");
  CHECK(pilot::read_file(dir.path() / "runs") == "run\n");
  auto locale = script(dir, "[ \"$LC_ALL\" = C ] && echo 'gcc version 8.1.0'\n");
  CHECK(compiler_id(locale) == "gcc8");
}

TEST_CASE("an absent, failing, hanging or non-executable compiler gives unknown") {
  pilot::TempDir dir;
  CHECK(compiler_id((dir.path() / "nothing").string()) == "unknown");
  CHECK(compiler_id("no-such-compiler-on-path") == "unknown");
  CHECK(compiler_id(script(dir, "echo 'gcc version 11.1.0'; exit 1\n")) == "unknown");
  CHECK(compiler_id(script(dir, "exec sleep 30\n"), std::chrono::milliseconds(300)) == "unknown");
  pilot::write_file_atomic(dir.path() / "plain", "gcc version 11.1.0\n", 0644);
  CHECK(compiler_id((dir.path() / "plain").string()) == "unknown");
}

TEST_CASE("the id of an unchanged ELF compiler is remembered, scripts are always run") {
  pilot::TempDir cache;
  auto real = compiler_id("cc");
  REQUIRE(real != "unknown");  // the build machine has gcc
  CHECK(cached_compiler_id("cc", cache.path()) == real);
  auto file = cache.path() / "compiler-id.json";
  auto text = pilot::read_file(file);
  REQUIRE(text);
  CHECK_THAT(*text, Catch::Contains("\"id\":\"" + real + "\""));
  CHECK(remembered_compiler_id("cc", cache.path()) == real);
  // The stored answer is what later probes use, as long as the key matches the binary.
  auto doctored = *text;
  doctored.replace(doctored.find(real), real.size(), "gcc99");
  pilot::write_file_atomic(file, doctored);
  CHECK(cached_compiler_id("cc", cache.path()) == "gcc99");
  pilot::write_file_atomic(file, "garbage");
  CHECK(cached_compiler_id("cc", cache.path()) == real);

  pilot::TempDir dir;
  auto cc = script(dir, "echo 'gcc version 9.1.0'\n");
  pilot::TempDir other;
  CHECK(cached_compiler_id(cc, other.path()) == "gcc9");
  CHECK_FALSE(std::filesystem::exists(other.path() / "compiler-id.json"));
  CHECK_FALSE(remembered_compiler_id(cc, other.path()));
}

TEST_CASE("the cache directory: PILOT_CACHE_DIR, XDG_CACHE_HOME, HOME") {
  CHECK(compiler_cache_dir("/c", "/x", "/h") == std::filesystem::path("/c"));
  CHECK_FALSE(compiler_cache_dir("", "/x", "/h"));
  CHECK(compiler_cache_dir(nullptr, "/x", "/h") == std::filesystem::path("/x/pilot"));
  CHECK(compiler_cache_dir(nullptr, nullptr, "/h") == std::filesystem::path("/h/.cache/pilot"));
  CHECK(compiler_cache_dir(nullptr, "relative", "/h") == std::filesystem::path("/h/.cache/pilot"));
  CHECK_FALSE(compiler_cache_dir(nullptr, nullptr, nullptr));
}
