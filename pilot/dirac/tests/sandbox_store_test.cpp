// The SandboxStore client and the DIRAC job source's sandbox steps against the fake server: real
// DISET file transfers over TLS, real archives made by Python's tarfile, real files.

#include <catch2/catch.hpp>
#include <random>

#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "core/zstd_file.hpp"
#include "dirac/dirac_job_source.hpp"
#include "dirac/sandbox_store.hpp"
#include "fake_server.hpp"
#include "jobs/jdl.hpp"
#include "jobs/job_description.hpp"

using namespace pilot::dirac;
using pilot::dirac::test::FakeDirac;
using pilot::dirac::test::python_tar;
using pilot::dirac::test::tar_member;
namespace fs = std::filesystem;

namespace {

const char* kRef1 = "SB:SandboxSE|/SandBox/p/pilot.testvo_user/111/222/111222.tar.bz2";
const char* kRef2 = "SB:SandboxSE|/SandBox/p/pilot.testvo_user/333/444/333444.tar.gz";

DiracConfig config(const FakeDirac& s, const fs::path& state) {
  DiracConfig cfg;
  cfg.matcher_urls = {s.diset_url()};
  cfg.job_state_urls = {s.https_url()};
  cfg.sandbox_store_urls = {s.diset_url("WorkloadManagement/SandboxStore")};
  cfg.rpc.credentials = test::proxy_credentials();
  cfg.rpc.setup = "Test-Setup";
  cfg.rpc.vo = "testvo";
  cfg.rpc.timeout = std::chrono::milliseconds(3000);
  cfg.state_dir = state;
  cfg.sandbox.upload_attempts = 2;
  cfg.sandbox.upload_retry_delay = std::chrono::milliseconds(100);
  cfg.pending_output_retry = std::chrono::seconds(0);
  return cfg;
}

ServiceClient store(const FakeDirac& s) {
  DiracConfig c = config(s, "/nonexistent");
  return {c.sandbox_store_urls, c.rpc, {}};
}

pilot::jobs::JobDescription describe(const std::string& jdl) {
  return pilot::jobs::parse_job_description(jdl, "test job");
}

// "Status/MinorStatus" of every status entry the server got for job 1, by time.
std::vector<std::string> statuses(const FakeDirac& s) {
  std::map<std::string, std::string> by_time;
  for (const auto& r : s.calls("setJobStatusBulk"))
    if (r["args"][0] == 1)
      for (auto& [ts, st] : r["args"][1].items())
        by_time[ts] = st.value("Status", "") + "/" + st.value("MinorStatus", "");
  std::vector<std::string> out;
  for (auto& [ts, st] : by_time) out.push_back(st);
  return out;
}

std::vector<nlohmann::json> transfers(const FakeDirac& s, const std::string& event) {
  std::vector<nlohmann::json> out;
  for (const auto& r : s.records())
    if (r.value("event", "") == event) out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("SandboxStore: download of SB: references, byte-exact file id, errors named",
          "[sandbox]") {
  FakeDirac server;
  pilot::TempDir tmp("sbs");
  auto sb =
      python_tar(tmp.path() / "in.tar.bz2", "w:bz2", tar_member("input.txt", "b'hello sandbox'"));
  server.control({{"sandboxes", {{kRef1, sb.string()}}}});
  auto got = download_sandbox(store(server), kRef1, tmp.path() / "dl", 1 << 20);
  CHECK(got == fs::file_size(sb));
  CHECK(pilot::read_file(tmp.path() / "dl") == pilot::read_file(sb));
  auto sent = transfers(server, "sandbox sent");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0]["method"] == "ToClient");
  CHECK(sent[0]["service"] == "WorkloadManagement/SandboxStore");
  // The bare path: v8's store strips its own URL from the id, so any host spelling works.
  CHECK(sent[0]["file_info"][0] == "/SandBox/p/pilot.testvo_user/111/222/111222.tar.bz2");
  CHECK(sent[0]["file_info"][1] == "CheckSum");

  CHECK_THROWS_WITH(
      download_sandbox(store(server), kRef2, tmp.path() / "dl2", 1 << 20),
      Catch::Contains("No sandbox matches the requirements") && Catch::Contains(kRef2));
  CHECK_FALSE(fs::exists(tmp.path() / "dl2"));
  CHECK_THROWS_WITH(download_sandbox(store(server), kRef1, tmp.path() / "dl3", 10),
                    Catch::Contains("larger than the limit of 10 bytes"));
  CHECK_THROWS_WITH(parse_sandbox_reference("LFN:/lhcb/user/x"),
                    Catch::Contains("not a sandbox reference"));
  server.control({{"sandbox_store", "down"}});
  CHECK_THROWS_AS(download_sandbox(store(server), kRef1, tmp.path() / "dl4", 1 << 20), RpcError);
}

TEST_CASE("SandboxStore: a store reached by another spelling of its host still serves the sandbox",
          "[sandbox]") {
  // The store's own configured URL says localhost; the pilot is configured with 127.0.0.1. v8's
  // handler strips only its own URL from the file id, so a URL id would be refused.
  FakeDirac server;
  pilot::TempDir tmp("sbs");
  auto sb = python_tar(tmp.path() / "in.tar.bz2", "w:bz2", tar_member("input.txt", "b'hello'"));
  server.control({{"sandboxes", {{kRef1, sb.string()}}}});
  auto s = store(server);
  for (auto& u : s.urls) u.replace(u.find("localhost"), 9, "127.0.0.1");
  CHECK(download_sandbox(s, kRef1, tmp.path() / "dl", 1 << 20) == fs::file_size(sb));
  CHECK(transfers(server, "no such sandbox").empty());
}

TEST_CASE(
    "SandboxStore: a v9 store, which wants the URL form of the file id, serves it after the path "
    "is refused",
    "[sandbox]") {
  FakeDirac server({"--v9"});
  pilot::TempDir tmp("sbs");
  auto sb = python_tar(tmp.path() / "in.tar.bz2", "w:bz2", tar_member("input.txt", "b'hello'"));
  server.control({{"sandboxes", {{kRef1, sb.string()}}}});
  CHECK(download_sandbox(store(server), kRef1, tmp.path() / "dl", 1 << 20) == fs::file_size(sb));
  CHECK(pilot::read_file(tmp.path() / "dl") == pilot::read_file(sb));
}

TEST_CASE("SandboxStore: upload assigns the sandbox to the job as Output", "[sandbox]") {
  FakeDirac server;
  pilot::TempDir tmp("sbs");
  std::string noise(3 << 20, '\0');  // incompressible: the upload takes several 1 MiB chunks
  std::mt19937 rng(7);
  for (auto& c : noise) c = static_cast<char>(rng());
  pilot::write_file_atomic(tmp.path() / "out.txt", noise);
  pilot::sandbox::create_tar_bz2(tmp.path() / "o.tar.bz2", {{tmp.path() / "out.txt", "out.txt"}});
  std::string ref = upload_output_sandbox(store(server), tmp.path() / "o.tar.bz2", 42);
  CHECK(ref.starts_with("SB:SandboxSE|/SandBox/"));
  auto stored = transfers(server, "sandbox stored");
  REQUIRE(stored.size() == 1);
  CHECK(stored[0]["method"] == "FromClient");
  CHECK(stored[0]["assigned"] == nlohmann::json{{"Job:42", "Output"}});
  CHECK(stored[0]["sandbox"] == ref);
  CHECK(pilot::read_file(stored[0]["file"].get<std::string>()) ==
        pilot::read_file(tmp.path() / "o.tar.bz2"));
}

TEST_CASE(
    "DIRAC job source: InputSandbox as WMSClient submits it: local names beside the SB: reference",
    "[sandbox]") {
  FakeDirac server;
  pilot::TempDir tmp("sbs");
  // What WMSClient uploads for Job().setExecutable("/bin/echo") with a code tarball: the files
  // under their base names, the tarball itself unpacked by the job wrapper.
  auto code =
      python_tar(tmp.path() / "code.tar.gz", "w:gz", tar_member("lib/code.py", "b'print(1)'"));
  auto sb = python_tar(tmp.path() / "isb.tar.bz2", "w:bz2",
                       tar_member("echo", "b'#!/bin/sh'", 0755) +
                           tar_member("code.tar.gz", "open('" + code.string() + "', 'rb').read()"));
  server.control({{"sandboxes", {{kRef1, sb.string()}}}});
  DiracJobSource src(config(server, tmp.path() / "state"), {});
  pilot::jobs::MatchedJob m;
  m.id = "1";
  fs::create_directories(tmp.path() / "job");
  auto d = describe(
      std::string(
          "[ Executable = \"/bin/echo\"; InputSandbox = { \"/bin/echo\", \"../work/code.tar.gz\", "
          "\"not-shipped.txt\", \"") +
      kRef1 + "\" }; ]");
  src.prepare_job(
      m, d, tmp.path() / "job");  // a listed file the sandboxes lack is no failure, as in DIRAC
  CHECK(pilot::read_file(tmp.path() / "job/echo") == "#!/bin/sh");
  CHECK(pilot::read_file(tmp.path() / "job/lib/code.py") == "print(1)");
  CHECK_FALSE(fs::exists(tmp.path() / "work"));
}

TEST_CASE("DIRAC job source: input sandboxes unpacked, LFNs and hostile archives refused",
          "[sandbox]") {
  FakeDirac server;
  pilot::TempDir tmp("sbs");
  auto bz = python_tar(tmp.path() / "a.tar.bz2", "w:bz2", tar_member("input.txt", "b'first'"));
  auto gz = python_tar(tmp.path() / "b.tar.gz", "w:gz", tar_member("dir/second.txt", "b'second'"));
  server.control({{"sandboxes", {{kRef1, bz.string()}, {kRef2, gz.string()}}}});
  DiracJobSource src(config(server, tmp.path() / "state"), {});
  pilot::jobs::MatchedJob m;
  m.id = "1";
  fs::create_directories(tmp.path() / "job");
  auto d = describe(std::string("[ Executable = \"/bin/true\"; InputSandbox = { \"") + kRef1 +
                    "\", \"" + kRef2 + "\" }; ]");
  src.prepare_job(m, d, tmp.path() / "job");
  CHECK(pilot::read_file(tmp.path() / "job/input.txt") == "first");
  CHECK(pilot::read_file(tmp.path() / "job/dir/second.txt") == "second");
  CHECK(std::distance(fs::directory_iterator(tmp.path() / "job"), fs::directory_iterator()) ==
        2);  // no leftovers
  REQUIRE(src.flush());
  CHECK(statuses(server) == std::vector<std::string>{"Running/Downloading InputSandbox"});

  auto refused = [&](const std::string& jdl, const std::string& minor, const std::string& detail) {
    fs::remove_all(tmp.path() / "job2");
    fs::create_directories(tmp.path() / "job2");
    try {
      src.prepare_job(m, describe(jdl), tmp.path() / "job2");
      FAIL("not refused: " << jdl);
    } catch (const pilot::jobs::JobPreparationError& e) {
      CHECK(e.minor_status == minor);
      CHECK_THAT(e.what(), Catch::Contains(detail));
    }
  };
  refused("[ Executable = \"/bin/true\"; InputSandbox = { \"LFN:/lhcb/user/p/pilot/data.txt\" }; ]",
          "Failed Downloading InputSandbox LFN(s)", "LFN:/lhcb/user/p/pilot/data.txt");

  struct Hostile {
    const char* name;
    std::string members;
    const char* reason;
  };
  std::vector<Hostile> hostile = {
      {"abs", tar_member(tmp.path().string() + "/escaped", "b'x'"), "absolute path"},
      {"dotdot", tar_member("../escaped", "b'x'"), "'..' component"},
      {"symlink",
       "    ti = tarfile.TarInfo('l'); ti.type = tarfile.SYMTYPE; ti.linkname = '../..'; "
       "tf.addfile(ti)\n" +
           tar_member("l/escaped", "b'x'"),
       "leaves the directory"},
      {"hardlink",
       "    ti = tarfile.TarInfo('h'); ti.type = tarfile.LNKTYPE; ti.linkname = '/etc/passwd'; "
       "tf.addfile(ti)\n",
       "hard link to the absolute path"},
  };
  for (const auto& h : hostile) {
    auto a = python_tar(tmp.path() / (std::string(h.name) + ".tar.bz2"), "w:bz2", h.members);
    server.control({{"sandboxes", {{kRef1, a.string()}}}});
    refused(std::string("[ Executable = \"/bin/true\"; InputSandbox = { \"") + kRef1 + "\" }; ]",
            "Failed Downloading InputSandbox", h.reason);
  }
  CHECK_FALSE(fs::exists(tmp.path() / "escaped"));

  // oversized: a per-file limit, and a download limit
  auto cfg = config(server, tmp.path() / "state2");
  cfg.sandbox.extract.max_file_size = 1000;
  DiracJobSource small(cfg, {});
  auto big = python_tar(tmp.path() / "big.tar.bz2", "w:bz2", tar_member("big", "b'0' * 5000"));
  server.control({{"sandboxes", {{kRef1, big.string()}}}});
  fs::remove_all(tmp.path() / "job3");
  fs::create_directories(tmp.path() / "job3");
  CHECK_THROWS_WITH(
      small.prepare_job(m,
                        describe(std::string("[ Executable = \"/bin/true\"; InputSandbox = \"") +
                                 kRef1 + "\"; ]"),
                        tmp.path() / "job3"),
      Catch::Contains("per-file limit"));
}

TEST_CASE(
    "DIRAC job source: output sandbox uploaded before the final status, an outage keeps it for the "
    "next pilot",
    "[sandbox]") {
  FakeDirac server;
  pilot::TempDir tmp("sbs");
  fs::path work = tmp.path() / "job_1";
  fs::create_directories(work);
  pilot::write_file_atomic(work / "result.txt", "42\n");
  pilot::write_file_atomic(work / "a.dat", "a");
  pilot::write_file_atomic(work / "b.dat", "b");
  pilot::write_file_atomic(work / "std.out", "the payload's log\n");
  pilot::compress_file_zstd(work / "std.out");  // as the job wrapper leaves it
  auto d = describe(
      "[ Executable = \"/bin/true\"; OutputSandbox = { \"std.out\", \"result.txt\", \"*.dat\", "
      "\"nothing.root\" }; ]");
  pilot::jobs::StatusUpdate done;
  done.status = "Done";
  done.minor_status = "Execution Complete";
  pilot::jobs::FinishedJob f{work, {{"state", "finished"}, {"exit_code", 0}}, d, done};

  auto check_upload = [&](std::size_t n) {
    auto stored = transfers(server, "sandbox stored");
    REQUIRE(stored.size() == n);
    CHECK(stored.back()["assigned"] == nlohmann::json{{"Job:1", "Output"}});
    fs::path out = tmp.path() / ("unpacked" + std::to_string(n));
    fs::create_directories(out);
    pilot::sandbox::extract_archive(stored.back()["file"].get<std::string>(), out);
    CHECK(pilot::read_file(out / "result.txt") == "42\n");
    CHECK(pilot::read_file(out / "a.dat") == "a");
    CHECK(pilot::read_file(out / "b.dat") == "b");
    CHECK(pilot::read_file(out / "std.out") == "the payload's log\n");  // plain, as asked for
    CHECK(pilot::read_zstd_file(out / "std.out.zst") == "the payload's log\n");
    CHECK(nlohmann::json::parse(pilot::read_file(out / "job.json").value())["exit_code"] == 0);
  };

  SECTION("delivered at once") {
    DiracJobSource src(config(server, tmp.path() / "state"), {});
    src.finish_job("1", f);
    check_upload(1);
    CHECK(statuses(server) == std::vector<std::string>{"Completing/Uploading Output Sandbox",
                                                       "Completing/Output Sandbox Uploaded",
                                                       "Done/Execution Complete"});
    bool noted = false;
    for (const auto& r : server.calls("setJobParameters"))
      for (const auto& p : r["args"][1])
        noted = noted || (p[0] == "OutputSandboxMissingFiles" && p[1] == "nothing.root");
    CHECK(noted);
    CHECK_FALSE(fs::exists(tmp.path() / "state/output-sandboxes/1"));
  }
  SECTION("an outage keeps it, the next pilot delivers it, then reports Done") {
    server.control({{"sandbox_store", "down"}});
    {
      DiracJobSource src(config(server, tmp.path() / "state"), {});
      src.finish_job("1", f);
    }
    CHECK(transfers(server, "sandbox stored").empty());
    CHECK(transfers(server, "sandbox store down").size() == 2);  // bounded retries
    CHECK(statuses(server) == std::vector<std::string>{"Completing/Uploading Output Sandbox"});
    CHECK(fs::exists(tmp.path() / "state/output-sandboxes/1/sandbox.tar.bz2"));
    fs::remove_all(work);  // the next pilot has only what was kept
    server.control(nlohmann::json::object());
    DiracJobSource next(config(server, tmp.path() / "state"), {});
    CHECK(next.retry_pending_outputs() == 0);
    check_upload(1);
    CHECK(statuses(server) == std::vector<std::string>{"Completing/Uploading Output Sandbox",
                                                       "Completing/Output Sandbox Uploaded",
                                                       "Done/Execution Complete"});
    CHECK_FALSE(fs::exists(tmp.path() / "state/output-sandboxes/1"));
  }
}
