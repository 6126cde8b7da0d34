#include "fake_server.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/error.hpp"
#include "core/run_command.hpp"

extern char** environ;

namespace pilot::dirac::test {
namespace fs = std::filesystem;

namespace {
fs::path source(const std::string& rel) {
  return fs::path(PILOT_SOURCE_DIR) / rel;
}
}  // namespace

fs::path fake_jobexec() {
  return source("tests/fake_dirac/fake_jobexec.py");
}

const fs::path& pki() {
  // One PKI per test process: key generation is the slow part of the set-up.
  static TempDir dir("pilot-dirac-pki");
  static bool made = [] {
    CommandOptions opts;
    opts.timeout = std::chrono::seconds(120);
    opts.merge_stderr = true;
    auto r = run_command(
        {"bash", source("tests/fake_dirac/make-test-pki.sh").string(), dir.path().string()}, opts);
    if (!r || !r->ok())
      throw Error("make-test-pki.sh failed: " + (r ? r->out : std::string("bash not found")));
    return true;
  }();
  (void)made;
  return dir.path();
}

Credentials proxy_credentials(const std::string& proxy, const std::string& ca) {
  Credentials c;
  c.cert = pki() / proxy;
  c.ca_dir = pki() / ca;
  return c;
}

Credentials host_credentials() {
  Credentials c;
  c.cert = pki() / "hostcert.pem";
  c.key = pki() / "hostkey.pem";
  c.ca_dir = pki() / "certificates";
  c.host = true;
  return c;
}

std::string sign_with_owner_proxy(const std::string& request_pem, int lifetime_s) {
  TempDir dir("pilot-sign");
  write_file_atomic(dir.path() / "req.pem", request_pem);
  std::string script =
      "import sys; sys.path.insert(0, sys.argv[1]); import fake_dirac as f\n"
      "stored = sys.argv[2] + '/owner_stored_proxy.pem'\n"
      "out = f.sign_proxy(stored, open(stored).read(), open(sys.argv[3]).read(), int(sys.argv[4]), "
      "424242)\n"
      "sys.stdout.write(out or '')\n";
  CommandOptions opts;
  opts.timeout = std::chrono::seconds(30);
  auto r =
      run_command({"python3", "-c", script, source("tests/fake_dirac").string(), pki().string(),
                   (dir.path() / "req.pem").string(), std::to_string(lifetime_s)},
                  opts);
  if (!r || !r->ok())
    throw Error("signing with the owner's stored proxy failed: " +
                (r ? r->err : std::string("no python3")));
  return r->out;
}

DiracRelease release_from_environment() {
  const char* v = std::getenv("PILOT_FAKE_DIRAC");
  if (!v || !*v || std::string_view(v) == "v8") return DiracRelease::v8;
  if (std::string_view(v) == "v9") return DiracRelease::v9;
  throw Error(std::string("PILOT_FAKE_DIRAC: expected v8 or v9, got ") + v);
}

FakeDirac::FakeDirac(std::vector<std::string> flags) : dir_("pilot-fake-dirac") {
  if (std::find(flags.begin(), flags.end(), "--v9") != flags.end()) {
    release_ = DiracRelease::v9;
  } else if (release_from_environment() == DiracRelease::v9) {
    release_ = DiracRelease::v9;
    flags.push_back("--v9");
  }
  std::vector<std::string> argv = {"python3",     source("tests/fake_dirac/fake_dirac.py").string(),
                                   "--pki",       pki().string(),
                                   "--port-file", (dir_.path() / "ports.json").string(),
                                   "--record",    (dir_.path() / "calls.jsonl").string(),
                                   "--control",   (dir_.path() / "control.json").string()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  if (int rc = posix_spawnp(&pid_, "python3", nullptr, nullptr, cargv.data(), environ); rc != 0)
    throw_errno("cannot start fake_dirac.py", rc);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto text = read_file(dir_.path() / "ports.json")) {
      auto j = nlohmann::json::parse(*text);
      diset_port_ = j.at("diset").get<int>();
      https_port_ = j.at("https").get<int>();
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw Error("fake_dirac.py exited before listening");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw Error("fake_dirac.py did not write its ports within 30 s");
}

FakeDirac::~FakeDirac() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string FakeDirac::diset_url(const std::string& service) const {
  return "dips://localhost:" + std::to_string(diset_port_) + "/" + service;
}

std::string FakeDirac::https_url(const std::string& service) const {
  return "https://localhost:" + std::to_string(https_port_) + "/" + service;
}

void FakeDirac::control(const nlohmann::json& settings) const {
  write_file_atomic(dir_.path() / "control.json", settings.dump());
}

std::vector<nlohmann::json> FakeDirac::records() const {
  std::vector<nlohmann::json> out;
  auto text = read_file(dir_.path() / "calls.jsonl").value_or("");
  // A read may see the server's last line half written (a write is not atomic against a read
  // across a page boundary): only lines it has ended are records yet.
  text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<nlohmann::json> FakeDirac::calls(const std::string& method) const {
  std::vector<nlohmann::json> out;
  for (auto& r : records())
    if (r.value("method", "") == method && r.contains("args")) out.push_back(r);
  return out;
}

std::filesystem::path python_tar(const std::filesystem::path& out, const std::string& mode,
                                 const std::string& code) {
  std::string script =
      "import io, tarfile, sys\nwith tarfile.open(sys.argv[1], '" + mode + "') as tf:\n" + code;
  auto r = pilot::run_command({"python3", "-c", script, out.string()});
  if (!r || !r->ok())
    throw Error("python tarfile could not make " + out.string() + (r ? ": " + r->err : ""));
  return out;
}

std::string tar_member(const std::string& name, const std::string& data, int mode) {
  return "    ti = tarfile.TarInfo('" + name + "'); ti.mode = " + std::to_string(mode) +
         "; d = " + data + "; ti.size = len(d); tf.addfile(ti, io.BytesIO(d))\n";
}

}  // namespace pilot::dirac::test
