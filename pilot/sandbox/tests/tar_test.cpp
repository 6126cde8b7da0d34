// Archives are made by Python's tarfile (what DIRAC packs sandboxes with) and GNU tar, including
// hostile ones, then extracted for real into temporary directories.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "sandbox/tar.hpp"

namespace fs = std::filesystem;
using pilot::sandbox::extract_archive;

namespace {

// Runs a Python snippet with `tarfile` imported and `out` the archive path.
fs::path python_archive(const pilot::TempDir& tmp, const std::string& name,
                        const std::string& code) {
  fs::path out = tmp.path() / name;
  std::string script = "import io, tarfile, os, sys\nout = sys.argv[1]\n" + code;
  pilot::CommandOptions opts;
  opts.timeout = std::chrono::seconds(30);
  auto r = pilot::run_command({"python3", "-c", script, out.string()}, opts);
  REQUIRE(r);
  INFO(r->err);
  REQUIRE(r->ok());
  return out;
}

std::string slurp(const fs::path& p) {
  return pilot::read_file(p).value_or("<missing>");
}

// A tarfile snippet adding member `n` with `data`.
std::string add_file(const std::string& n, const std::string& data) {
  return "ti = tarfile.TarInfo(" + n + "); d = " + data +
         "; ti.size = len(d); tf.addfile(ti, io.BytesIO(d))\n";
}

void require_refused(const fs::path& archive, const fs::path& dest, const std::string& reason,
                     const pilot::sandbox::ExtractLimits& limits = {}) {
  try {
    extract_archive(archive, dest, limits);
    FAIL("extraction of " << archive << " was not refused");
  } catch (const pilot::Error& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(what.find(archive.string()) != std::string::npos);
    CHECK(what.find(reason) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("tar.bz2 made by Python's tarfile as DIRAC packs it is extracted", "[sandbox]") {
  pilot::TempDir tmp("sbt");
  fs::create_directories(tmp.path() / "src/sub");
  pilot::write_file_atomic(tmp.path() / "src/run.sh", "#!/bin/sh\necho hi\n", 0755);
  pilot::write_file_atomic(tmp.path() / "src/sub/data.txt", "payload data");
  pilot::write_file_atomic(tmp.path() / "src" / (std::string(150, 'n') + ".txt"), "long name");
  auto archive = python_archive(tmp, "sb.tar.bz2", R"(
src = os.path.join(os.path.dirname(out), 'src')
with tarfile.open(out, 'w|bz2') as tf:
    for n in sorted(os.listdir(src)):
        tf.add(os.path.join(src, n), n, recursive=True)
)");
  fs::create_directory(tmp.path() / "job");
  auto r = extract_archive(archive, tmp.path() / "job");
  CHECK(r.files == 3);
  CHECK(slurp(tmp.path() / "job/run.sh") == "#!/bin/sh\necho hi\n");
  CHECK(slurp(tmp.path() / "job/sub/data.txt") == "payload data");
  CHECK(slurp(tmp.path() / "job" / (std::string(150, 'n') + ".txt")) == "long name");
  CHECK((fs::status(tmp.path() / "job/run.sh").permissions() & fs::perms::owner_exec) !=
        fs::perms::none);
}

TEST_CASE("gzip, plain tar, GNU format and GNU tar archives are read, whatever their name",
          "[sandbox]") {
  pilot::TempDir tmp("sbt");
  std::string body = "with tarfile.open(out, MODE, format=FMT) as tf:\n    " +
                     add_file("'a/" + std::string(120, 'x') + "'", "b'gnu long'") + "    " +
                     add_file("'b.txt'", "b'b'*1000");
  for (auto [mode, fmt] : {std::pair{"w:gz", "tarfile.GNU_FORMAT"},
                           {"w", "tarfile.USTAR_FORMAT"},
                           {"w:bz2", "tarfile.PAX_FORMAT"}}) {
    std::string code = body;
    code.replace(code.find("MODE"), 4, std::string("'") + mode + "'");
    code.replace(code.find("FMT"), 3, fmt);
    if (std::string(fmt) == "tarfile.USTAR_FORMAT")
      code.replace(code.find(std::string(120, 'x')), 120, std::string(20, 'x'));
    auto archive = python_archive(tmp, std::string("misnamed-") + mode + ".zip", code);
    fs::path dest = tmp.path() / (std::string("d-") + mode);
    fs::create_directory(dest);
    auto r = extract_archive(archive, dest);
    CHECK(r.files == 2);
    CHECK(slurp(dest / "b.txt") == std::string(1000, 'b'));
  }
  // GNU tar itself
  fs::create_directories(tmp.path() / "g/dir");
  pilot::write_file_atomic(tmp.path() / "g/dir/f", "gnu tar");
  fs::create_symlink("f", tmp.path() / "g/dir/link");
  auto r = pilot::run_command(
      {"tar", "-C", (tmp.path() / "g").string(), "-czf", (tmp.path() / "gnu.tgz").string(), "dir"});
  REQUIRE((r && r->ok()));
  fs::create_directory(tmp.path() / "gd");
  extract_archive(tmp.path() / "gnu.tgz", tmp.path() / "gd");
  CHECK(slurp(tmp.path() / "gd/dir/link") == "gnu tar");
  CHECK(fs::is_symlink(tmp.path() / "gd/dir/link"));
}

TEST_CASE("hostile archives are refused and nothing is written outside", "[sandbox]") {
  pilot::TempDir tmp("sbt");
  fs::path dest = tmp.path() / "job";
  fs::create_directory(dest);
  const std::string open = "with tarfile.open(out, 'w:bz2') as tf:\n    ";

  SECTION("absolute path") {
    auto a = python_archive(tmp, "abs.tar.bz2",
                            open + add_file("'" + (tmp.path() / "outside").string() + "'", "b'x'"));
    require_refused(a, dest, "absolute path");
  }
  SECTION("dot-dot") {
    auto a = python_archive(tmp, "dotdot.tar.bz2", open + add_file("'sub/../../outside'", "b'x'"));
    require_refused(a, dest, "'..'");
  }
  SECTION("symlink escape, then a file written through it") {
    auto a = python_archive(tmp, "sym.tar.bz2",
                            open +
                                "ti = tarfile.TarInfo('esc'); ti.type = tarfile.SYMTYPE; "
                                "ti.linkname = '..'; tf.addfile(ti)\n    " +
                                add_file("'esc/outside'", "b'x'"));
    require_refused(a, dest, "leaves the directory");
    auto b = python_archive(tmp, "symabs.tar.bz2",
                            open +
                                "ti = tarfile.TarInfo('esc'); ti.type = tarfile.SYMTYPE; "
                                "ti.linkname = '/etc'; tf.addfile(ti)\n");
    require_refused(b, dest, "absolute path");
    auto c = python_archive(tmp, "symmid.tar.bz2",
                            open +
                                "ti = tarfile.TarInfo('a/esc'); ti.type = tarfile.SYMTYPE; "
                                "ti.linkname = 'x/../../..'; tf.addfile(ti)\n");
    require_refused(c, dest, "'..' after a name");
  }
  SECTION("a file written through a symlink already in the directory") {
    fs::create_directory_symlink(tmp.path(), dest / "planted");
    auto a = python_archive(tmp, "through.tar.bz2", open + add_file("'planted/outside'", "b'x'"));
    require_refused(a, dest, "symbolic link");
  }
  SECTION("hard link escape") {
    auto a = python_archive(tmp, "hard.tar.bz2",
                            open +
                                "ti = tarfile.TarInfo('h'); ti.type = tarfile.LNKTYPE; ti.linkname "
                                "= '../secret'; tf.addfile(ti)\n");
    require_refused(a, dest, "'..'");
    auto b = python_archive(tmp, "hardabs.tar.bz2",
                            open +
                                "ti = tarfile.TarInfo('h'); ti.type = tarfile.LNKTYPE; ti.linkname "
                                "= '/etc/passwd'; tf.addfile(ti)\n");
    require_refused(b, dest, "absolute path");
  }
  SECTION("devices and FIFOs") {
    auto a = python_archive(
        tmp, "fifo.tar.bz2",
        open + "ti = tarfile.TarInfo('f'); ti.type = tarfile.FIFOTYPE; tf.addfile(ti)\n");
    require_refused(a, dest, "FIFO");
    auto b = python_archive(
        tmp, "dev.tar.bz2",
        open + "ti = tarfile.TarInfo('d'); ti.type = tarfile.CHRTYPE; tf.addfile(ti)\n");
    require_refused(b, dest, "character device");
  }
  SECTION("size and count limits") {
    auto a = python_archive(
        tmp, "big.tar.bz2",
        open + add_file("'big'", "b'0'*100000") + "    " + add_file("'big2'", "b'0'*100000"));
    pilot::sandbox::ExtractLimits per_file, total, count;
    per_file.max_file_size = 50000;
    total.max_total_size = 150000;
    count.max_entries = 1;
    require_refused(a, dest, "per-file limit", per_file);
    require_refused(a, dest, "total limit", total);
    require_refused(a, dest, "more than 1 entries", count);
  }
  SECTION("truncated and garbage archives") {
    auto a = python_archive(
        tmp, "t.tar", "with tarfile.open(out, 'w') as tf:\n    " + add_file("'f'", "b'1'*5000"));
    std::string full = slurp(a);
    pilot::write_file_atomic(tmp.path() / "cut.tar", full.substr(0, 2048));
    require_refused(tmp.path() / "cut.tar", dest, "truncated");
    auto gz = python_archive(
        tmp, "t.tgz",
        "with tarfile.open(out, 'w:gz') as tf:\n    " + add_file("'f'", "os.urandom(50000)"));
    std::string z = slurp(gz);
    pilot::write_file_atomic(tmp.path() / "cut.tgz", z.substr(0, z.size() / 2));
    require_refused(tmp.path() / "cut.tgz", dest, "truncated");
    auto bz = python_archive(
        tmp, "t.tbz",
        "with tarfile.open(out, 'w:bz2') as tf:\n    " + add_file("'f'", "os.urandom(50000)"));
    std::string b = slurp(bz);
    pilot::write_file_atomic(tmp.path() / "cut.tbz", b.substr(0, b.size() / 2));
    require_refused(tmp.path() / "cut.tbz", dest, "truncated");
    pilot::write_file_atomic(tmp.path() / "garbage", std::string(2048, 'G'));
    require_refused(tmp.path() / "garbage", dest, "checksum");
  }
  CHECK_FALSE(fs::exists(tmp.path() / "outside"));
  CHECK_FALSE(fs::exists(tmp.path() / "secret"));
}

TEST_CASE("create_tar_bz2 writes what Python's tarfile reads back", "[sandbox]") {
  pilot::TempDir tmp("sbt");
  fs::create_directories(tmp.path() / "w/dir");
  pilot::write_file_atomic(tmp.path() / "w/std.out", "output\n");
  pilot::write_file_atomic(tmp.path() / "w/dir" / std::string(130, 'L'), "deep");
  fs::path out = tmp.path() / "out.tar.bz2";
  pilot::sandbox::create_tar_bz2(
      out, {{tmp.path() / "w/std.out", "std.out"}, {tmp.path() / "w/dir", "dir"}});
  auto r = pilot::run_command(
      {"python3", "-c",
       "import tarfile,sys\nwith tarfile.open(sys.argv[1]) as t:\n  for m in t:\n    print(m.name, "
       "m.size, t.extractfile(m).read().decode() if m.isfile() else '-')",
       out.string()});
  REQUIRE(r);
  INFO(r->err);
  REQUIRE(r->ok());
  CHECK(r->out.find("std.out 7 output") != std::string::npos);
  CHECK(r->out.find("dir/" + std::string(130, 'L') + " 4 deep") != std::string::npos);
  // and our own reader agrees
  fs::create_directory(tmp.path() / "back");
  CHECK(extract_archive(out, tmp.path() / "back").files == 2);
  CHECK(slurp(tmp.path() / "back/std.out") == "output\n");
  CHECK(pilot::sandbox::detect_compression(out) == pilot::sandbox::Compression::bzip2);
}
