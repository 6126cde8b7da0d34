// The payload's credential: the proxy request and the assembly of what the ProxyManager returns
// (unit), then the whole delegation through DiracJobSource against the fake server, which signs
// real RFC3820 proxies with the owner's stored proxy: openssl verifies the result against the
// test CA, it is not the pilot's, it is renewed in place, and a job without one fails first.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "core/run_command.hpp"
#include "dirac/credentials.hpp"
#include "dirac/dirac_job_source.hpp"
#include "dirac/proxy_manager.hpp"
#include "dirac/proxy_request.hpp"
#include "fake_server.hpp"

using namespace pilot::dirac;
using pilot::dirac::test::FakeDirac;
namespace fs = std::filesystem;

namespace {

struct ReqInfo {
  std::string subject;
  int bits = 0;
  int md_nid = 0;
  bool signature_ok = false;
};

ReqInfo parse_request(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(req);
  ReqInfo info;
  char buf[256];
  X509_NAME_oneline(X509_REQ_get_subject_name(req), buf, sizeof buf);
  info.subject = buf;
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  info.bits = EVP_PKEY_get_bits(key);
  info.signature_ok = X509_REQ_verify(req, key) == 1;
  int pknid = 0;
  OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req), &info.md_nid, &pknid);
  X509_REQ_free(req);
  return info;
}

pilot::CommandResult openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  pilot::CommandOptions o;
  o.merge_stderr = true;
  o.timeout = std::chrono::seconds(30);
  auto r = pilot::run_command(argv, o);
  REQUIRE(r);
  return *r;
}

// `openssl verify` of a proxy file against the test CA, the file's chain as untrusted.
bool openssl_verifies(const fs::path& file) {
  auto r = openssl({"verify", "-allow_proxy_certs", "-CAfile", (test::pki() / "ca.pem").string(),
                    "-untrusted", file.string(), file.string()});
  INFO(r.out);
  return r.ok() && r.out.find(": OK") != std::string::npos;
}

// The PEM blocks' kinds in file order: "CERTIFICATE", "RSA PRIVATE KEY", ...
std::vector<std::string> pem_kinds(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t p = 0; (p = text.find("-----BEGIN ", p)) != std::string::npos; p += 11)
    out.push_back(text.substr(p + 11, text.find("-----", p + 11) - p - 11));
  return out;
}

// The private key block of a PEM file.
std::string key_block(const std::string& text) {
  auto b = text.find("-----BEGIN ");
  while (b != std::string::npos && text.compare(b, 27, "-----BEGIN CERTIFICATE-----") == 0)
    b = text.find("-----BEGIN ", b + 1);
  REQUIRE(b != std::string::npos);
  auto e = text.find("-----END ", b);
  return text.substr(b, text.find('\n', e) - b);
}

DiracConfig config(const FakeDirac& s, const fs::path& state) {
  DiracConfig cfg;
  cfg.matcher_urls = {s.diset_url()};
  cfg.job_state_urls = {s.https_url()};
  cfg.proxy_manager_urls = {s.diset_url("Framework/ProxyManager")};
  cfg.rpc.credentials = test::proxy_credentials();
  cfg.rpc.setup = "Test-Setup";
  cfg.rpc.vo = "testvo";
  cfg.rpc.timeout = std::chrono::milliseconds(10000);
  cfg.state_dir = state;
  cfg.min_proxy_lifetime = std::chrono::seconds(600);
  return cfg;
}

pilot::jobs::ResourceRequest offer() {
  pilot::jobs::ResourceRequest r;
  r.site = "DIRAC.Test.ch";
  r.cpu_work_left_hs06s = 86400;
  return r;
}

std::string env_value(const pilot::jobs::PreparedJob& p, const std::string& name) {
  for (const auto& [k, v] : p.environment)
    if (k == name) return v;
  return "";
}

int file_mode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace

TEST_CASE(
    "Proxy request: an RSA key of the asked strength and a SHA-256 request for CN=limited proxy") {
  auto r = make_proxy_request(1024, true);
  auto info = parse_request(r.request_pem);
  CHECK(info.subject == "/CN=limited proxy");
  CHECK(info.bits == 1024);
  CHECK(info.md_nid == NID_sha256);
  CHECK(info.signature_ok);
  CHECK(r.key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
  auto full = make_proxy_request(2048, false);
  CHECK(parse_request(full.request_pem).subject == "/CN=proxy");
  CHECK(parse_request(full.request_pem).bits == 2048);
  CHECK(full.key_pem != r.key_pem);
  CHECK_THROWS_WITH(make_proxy_request(512, true), Catch::Contains("512 bits"));
}

TEST_CASE(
    "Proxy assembly: certificate, our key, then the chain, verified by openssl as the owner's "
    "proxy") {
  auto req = make_proxy_request(1024, true);
  auto chain = test::sign_with_owner_proxy(req.request_pem, 3600);
  auto now = std::chrono::system_clock::now();
  auto p =
      assemble_delegated_proxy(chain, req.key_pem, test::kOwnerDn, now, std::chrono::seconds(600));
  CHECK(pem_kinds(p.file) ==
        std::vector<std::string>{"CERTIFICATE", "RSA PRIVATE KEY", "CERTIFICATE", "CERTIFICATE"});
  CHECK(p.file.find(req.key_pem) != std::string::npos);
  CHECK(p.subject == test::kOwnerDn + "/CN=20003/CN=424242");
  CHECK(p.identity == test::kOwnerDn);
  CHECK(p.limited);
  CHECK(p.not_after > now + std::chrono::seconds(3500));
  CHECK(p.not_after < now + std::chrono::seconds(3700));
  pilot::TempDir dir;
  pilot::write_file_atomic(dir.path() / "proxy.pem", p.file, 0600);
  CHECK(openssl_verifies(dir.path() / "proxy.pem"));
  auto info = read_certificate_info(dir.path() / "proxy.pem");
  CHECK(info.is_proxy);
  CHECK(info.identity == test::kOwnerDn);
  CHECK(info.group == "testvo_user");
}

TEST_CASE("Proxy assembly: what comes back is refused with the reason") {
  auto req = make_proxy_request(1024, true);
  auto chain = test::sign_with_owner_proxy(req.request_pem, 3600);
  auto now = std::chrono::system_clock::now();
  using std::chrono::seconds;
  CHECK_THROWS_WITH(
      assemble_delegated_proxy("<html>oops</html>", req.key_pem, test::kOwnerDn, now, seconds(0)),
      Catch::Contains("no PEM certificate"));
  auto first_only = chain.substr(0, chain.find("-----END CERTIFICATE-----") + 26);
  CHECK_THROWS_WITH(
      assemble_delegated_proxy(first_only, req.key_pem, test::kOwnerDn, now, seconds(0)),
      Catch::Contains("one certificate"));
  auto other = make_proxy_request(1024, true);
  CHECK_THROWS_WITH(assemble_delegated_proxy(chain, other.key_pem, test::kOwnerDn, now, seconds(0)),
                    Catch::Contains("not for the key we asked for"));
  CHECK_THROWS_WITH(assemble_delegated_proxy(chain, req.key_pem, test::kPilotDn, now, seconds(0)),
                    Catch::Contains("belongs to " + test::kOwnerDn));
  CHECK_THROWS_WITH(
      assemble_delegated_proxy(chain, req.key_pem, test::kOwnerDn, now, seconds(7200)),
      Catch::Contains("less than the 7200 s required"));
  CHECK_THROWS_WITH(assemble_delegated_proxy(chain, req.key_pem, test::kOwnerDn,
                                             now + std::chrono::hours(2), seconds(0)),
                    Catch::Contains("expired"));
  // The chain without the proxy's issuer: the next certificate did not sign it.
  auto second_end =
      chain.find("-----END CERTIFICATE-----", chain.find("-----END CERTIFICATE-----") + 1) + 26;
  auto skipped = first_only + chain.substr(second_end);
  CHECK_THROWS_WITH(assemble_delegated_proxy(skipped, req.key_pem, test::kOwnerDn, now, seconds(0)),
                    Catch::Contains("not by the next certificate"));
}

TEST_CASE("Proxy manager: default URL beside the Matcher, VOMS attributes by group") {
  CHECK(default_proxy_manager_url("dips://lbvobox.cern.ch:9170/WorkloadManagement/Matcher") ==
        "dips://lbvobox.cern.ch:9152/Framework/ProxyManager");
  CHECK(default_proxy_manager_url("https://dirac.example.org:8443/WorkloadManagement/Matcher") ==
        "https://dirac.example.org:8443/Framework/TornadoProxyManager");
  CHECK_THROWS(default_proxy_manager_url("ftp://x/y/z"));
  std::vector<std::string> voms{"lhcb_user=/lhcb", "lhcb_prod=/lhcb/Role=production"};
  CHECK(voms_attribute_for(voms, "lhcb_prod") == "/lhcb/Role=production");
  CHECK_FALSE(voms_attribute_for(voms, "lhcb_pilot"));
  CHECK_THROWS_WITH(voms_attribute_for({"lhcb_user"}, "x"), Catch::Contains("'lhcb_user'"));
}

TEST_CASE(
    "Payload proxy: the owner's limited RFC3820 proxy, 0600, only in the payload's environment") {
  FakeDirac server;
  pilot::TempDir state, jobdir;
  DiracJobSource source(config(server, state.path()), {});
  auto job = source.request_job(offer());
  REQUIRE(job);
  CHECK(job->attributes["DN"] == test::kOwnerDn);
  auto prepared = source.prepare_job(*job, {}, jobdir.path());
  REQUIRE(prepared.environment.size() == 1);
  fs::path file = env_value(prepared, "X509_USER_PROXY");
  REQUIRE(!file.empty());
  CHECK(file.parent_path() == state.path() / "payload-proxies");
  CHECK(file_mode(file) == 0600);
  CHECK(file_mode(file.parent_path()) == 0700);
  CHECK(openssl_verifies(file));

  // Not the pilot's: another subject and issuer, another key.
  auto mine = read_certificate_info(test::pki() / "proxy.pem");
  auto theirs = read_certificate_info(file);
  CHECK(theirs.identity == test::kOwnerDn);
  CHECK(theirs.subject.starts_with(test::kOwnerDn + "/CN="));
  CHECK(theirs.subject != mine.subject);
  CHECK(theirs.issuer != mine.issuer);
  CHECK(theirs.identity != mine.identity);
  auto text = pilot::read_file(file).value();
  CHECK(text.find(key_block(pilot::read_file(test::pki() / "proxy.pem").value())) ==
        std::string::npos);
  auto pci = openssl({"x509", "-in", file.string(), "-noout", "-ext", "proxyCertInfo"});
  CHECK(pci.out.find("1.3.6.1.4.1.3536.1.1.1.9") != std::string::npos);  // limited

  // Byte-exact DISET arguments: getStoredProxyStrength(DN, group, None), getProxy(..., int).
  auto strength = server.calls("getStoredProxyStrength");
  REQUIRE(strength.size() == 1);
  CHECK(strength[0]["service"] == "Framework/ProxyManager");
  std::string args = "ds2:OKb1s5:Valuels" + std::to_string(test::kOwnerDn.size()) + ":" +
                     test::kOwnerDn + "s11:testvo_usernee";
  CHECK(strength[0]["raw_arguments"] == std::to_string(args.size()) + ":" + args);
  CHECK(strength[0]["reply"]["Value"] == 2048);
  auto get = server.calls("getProxy");
  REQUIRE(get.size() == 1);
  CHECK(get[0]["raw_arguments"].get<std::string>().ends_with("i432000eee"));
  CHECK(get[0]["args"][2].get<std::string>().starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
  CHECK(parse_request(get[0]["args"][2].get<std::string>()).bits == 2048);

  // Gone when the job is over.
  source.finish_job(job->id, {jobdir.path(), nlohmann::json::object()});
  CHECK_FALSE(fs::exists(file));
}

TEST_CASE(
    "Payload proxy: renewed in place before it runs out, the payload always reads a whole proxy") {
  FakeDirac server;
  server.control({{"proxy_max_lifetime", 8}});
  pilot::TempDir state, jobdir;
  auto cfg = config(server, state.path());
  cfg.payload_proxy.renewal = {std::chrono::seconds(0), std::chrono::seconds(6)};
  DiracJobSource source(cfg, {});
  auto job = source.request_job(offer());
  REQUIRE(job);
  fs::path file = env_value(source.prepare_job(*job, {}, jobdir.path()), "X509_USER_PROXY");
  auto first = read_certificate_info(file);
  auto first_text = pilot::read_file(file).value();
  source.maintain_job(job->id);  // 8 s left of 6: nothing to do yet
  CHECK(server.calls("getProxy").size() == 1);

  // A payload reading its proxy all along: every read is a complete, parseable proxy file.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!stop) {
      auto t = pilot::read_file(file);
      if (!t || pem_kinds(*t) != std::vector<std::string>{"CERTIFICATE", "RSA PRIVATE KEY",
                                                          "CERTIFICATE", "CERTIFICATE"})
        ++bad;
      ++reads;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  source.maintain_job(job->id);
  stop = true;
  reader.join();
  CHECK(server.calls("getProxy").size() == 2);
  CHECK(bad == 0);
  CHECK(reads > 10);
  auto second = read_certificate_info(file);
  CHECK(pilot::read_file(file).value() != first_text);
  CHECK(second.not_after > first.not_after);
  CHECK(file_mode(file) == 0600);
  CHECK(openssl_verifies(file));

  // A failed renewal leaves the file alone and is retried at the next call.
  server.control({{"proxy_max_lifetime", 8}, {"proxy", "error"}});
  auto before = pilot::read_file(file).value();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK_NOTHROW(source.maintain_job(job->id));
  CHECK(server.calls("getProxy").size() == 3);
  CHECK(pilot::read_file(file).value() == before);
  server.control({{"proxy_max_lifetime", 8}});
  source.maintain_job(job->id);
  CHECK(server.calls("getProxy").size() == 4);
  CHECK(read_certificate_info(file).not_after > second.not_after);
}

TEST_CASE(
    "Payload proxy: a job that cannot have its owner's proxy fails before it starts, with the "
    "reason") {
  FakeDirac server({"--jobs", "4"});
  server.control(
      {{"owners",
        {{"1", {{"DN", "/C=ch/O=DIRAC/OU=DIRAC CI/CN=nobody"}, {"Group", "testvo_user"}}},
         {"3", nlohmann::json::object()},
         {"4", {{"DN", "/C=ch/O=DIRAC/OU=DIRAC CI/CN=nobody"}, {"Group", "testvo_user"}}}}}});
  pilot::TempDir state, jobdir;
  DiracJobSource source(config(server, state.path()), {});
  SECTION("no stored proxy") {
    auto job = source.request_job(offer());
    REQUIRE(job);
    try {
      source.prepare_job(*job, {}, jobdir.path());
      FAIL("prepare_job did not throw");
    } catch (const pilot::jobs::JobPreparationError& e) {
      CHECK(e.minor_status == "Failed to setup proxy");
      CHECK_THAT(e.what(),
                 Catch::Contains("CN=nobody") && Catch::Contains("has no proxy registered"));
    }
    CHECK(server.calls("getProxy").size() == 1);
    CHECK(fs::is_empty(state.path() / "payload-proxies"));
  }
  SECTION(
      "no delegation right; a job without owner runs as the pilot; not required: runs without") {
    server.control(
        {{"proxy", "nodelegation"},
         {"owners",
          {{"3", nlohmann::json::object()},
           {"4", {{"DN", "/C=ch/O=DIRAC/OU=DIRAC CI/CN=nobody"}, {"Group", "testvo_user"}}}}}});
    REQUIRE(source.request_job(offer()));
    auto job2 = source.request_job(offer());
    REQUIRE(job2);
    CHECK(job2->id == "2");
    CHECK_THROWS_WITH(source.prepare_job(*job2, {}, jobdir.path()),
                      Catch::Contains("You can't get proxies!"));
    auto job3 = source.request_job(offer());
    REQUIRE(job3);
    auto calls = server.calls("getProxy").size();
    CHECK(source.prepare_job(*job3, {}, jobdir.path()).environment.empty());
    CHECK(server.calls("getProxy").size() == calls);
    auto cfg = config(server, state.path());
    cfg.payload_proxy.required = false;
    DiracJobSource lenient(cfg, {});
    auto job4 = lenient.request_job(offer());
    REQUIRE(job4);
    CHECK(lenient.prepare_job(*job4, {}, jobdir.path()).environment.empty());
  }
}

TEST_CASE(
    "Payload proxy: proxies a SIGKILLed pilot left behind are removed once the next one has "
    "adopted its jobs") {
  FakeDirac server({"--jobs", "1"});
  pilot::TempDir state;
  auto dir = state.path() / "payload-proxies";
  fs::create_directories(dir);
  pilot::write_file_atomic(dir / "x509up_job_17", "a proxy\n");
  pilot::write_file_atomic(dir / "x509up_job_17.owner", "{}\n");
  pilot::write_file_atomic(dir / ".x509up_job_18.tmpAbC123", "half a proxy\n");
  pilot::write_file_atomic(dir / "README", "an operator's note\n");
  DiracJobSource source(config(server, state.path()), {});
  CHECK(fs::exists(dir / "x509up_job_17"));  // until the adoptions are done
  CHECK(source.recover_orphans().empty());
  CHECK_FALSE(fs::exists(dir / "x509up_job_17"));
  CHECK_FALSE(fs::exists(dir / "x509up_job_17.owner"));
  CHECK_FALSE(fs::exists(dir / ".x509up_job_18.tmpAbC123"));
  CHECK(fs::exists(dir / "README"));
}

TEST_CASE(
    "Payload proxy: a lost pilot's running job is adopted with its proxy file, renewed for the "
    "owner recorded beside it, and the others' files are removed") {
  FakeDirac server({"--jobs", "3"});
  pilot::TempDir state, jobdir;
  fs::path file, other;
  {
    // The lost pilot: it prepared jobs 1 and 2 and was killed.
    DiracJobSource lost(config(server, state.path()), {});
    auto job1 = lost.request_job(offer());
    auto job2 = lost.request_job(offer());
    REQUIRE((job1 && job2));
    file = env_value(lost.prepare_job(*job1, {}, jobdir.path()), "X509_USER_PROXY");
    other = env_value(lost.prepare_job(*job2, {}, jobdir.path()), "X509_USER_PROXY");
  }
  REQUIRE(fs::exists(fs::path(file.string() + ".owner")));
  auto before = pilot::read_file(file).value();
  auto calls = server.calls("getProxy").size();

  DiracJobSource next(config(server, state.path()), {});
  REQUIRE(next.adopt_job("1", jobdir.path()));
  CHECK(server.calls("getProxy").size() == calls + 1);
  CHECK(pilot::read_file(file).value() != before);  // renewed, at the path the payload reads
  CHECK(openssl_verifies(file));
  CHECK(read_certificate_info(file).identity == test::kOwnerDn);
  CHECK(next.adopt_job("3", jobdir.path()));  // no proxy: runs with the pilot's identity
  next.recover_orphans();
  CHECK(fs::exists(file));
  CHECK_FALSE(fs::exists(other));
  CHECK_FALSE(fs::exists(fs::path(other.string() + ".owner")));

  // A proxy whose owner is not known cannot be renewed: not adopted.
  pilot::write_file_atomic(state.path() / "payload-proxies" / "x509up_job_9", "a proxy\n");
  CHECK_FALSE(next.adopt_job("9", jobdir.path()));

  next.finish_job("1", {jobdir.path(), nlohmann::json::object()});
  CHECK_FALSE(fs::exists(file));
  CHECK_FALSE(fs::exists(fs::path(file.string() + ".owner")));
}

TEST_CASE("Payload proxy: a group with a VOMS attribute asks getVOMSProxy, over HTTPS too") {
  FakeDirac server;
  pilot::TempDir state, jobdir;
  auto cfg = config(server, state.path());
  cfg.proxy_manager_urls = {server.https_url("Framework/TornadoProxyManager")};
  cfg.payload_proxy.request.voms_attributes = {"testvo_user=/testvo/Role=user"};
  DiracJobSource source(cfg, {});
  auto job = source.request_job(offer());
  REQUIRE(job);
  fs::path file = env_value(source.prepare_job(*job, {}, jobdir.path()), "X509_USER_PROXY");
  CHECK(openssl_verifies(file));
  auto calls = server.calls("getVOMSProxy");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["transport"] == "https");
  CHECK(calls[0]["args"][3] == 432000);
  CHECK(calls[0]["args"][4] == "/testvo/Role=user");
  CHECK(server.calls("getStoredProxyStrength").at(0)["args"][2] == "/testvo/Role=user");
}
