#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "dirac/credentials.hpp"
#include "dirac/resource_description.hpp"
#include "fake_server.hpp"

using namespace pilot::dirac;
namespace fs = std::filesystem;

namespace {
EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST_CASE("Credentials: an openssl-made RFC3820 proxy with its DIRAC group") {
  auto info = read_certificate_info(test::pki() / "proxy.pem");
  CHECK(info.is_proxy);
  CHECK(info.subject == "/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot/CN=20001");
  CHECK(info.identity == "/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot");
  CHECK(info.group == "testvo_pilot");
  auto now = std::chrono::system_clock::now();
  auto ok = check_lifetime(info, now, std::chrono::hours(1), std::chrono::hours(2));
  CHECK(ok.usable);
  CHECK_FALSE(ok.warn);
  auto warn = check_lifetime(info, now, std::chrono::hours(1), std::chrono::hours(48));
  CHECK(warn.usable);
  CHECK(warn.warn);
  auto too_short = check_lifetime(info, now, std::chrono::hours(48), std::chrono::hours(1));
  CHECK_FALSE(too_short.usable);
  CHECK_THAT(too_short.message, Catch::Contains("before the 172800 s the work needs"));

  auto expired = read_certificate_info(test::pki() / "expired_proxy.pem");
  auto e = check_lifetime(expired, now, std::chrono::seconds(0), std::chrono::hours(1));
  CHECK_FALSE(e.usable);
  CHECK_THAT(e.message,
             Catch::Contains("has expired: valid until 2020-01-02 00:00:00 UTC, now 20"));

  auto host = read_certificate_info(test::pki() / "hostcert.pem");
  CHECK_FALSE(host.is_proxy);
  CHECK_FALSE(host.group);
  CHECK_THROWS_WITH(read_certificate_info(test::pki() / "nope.pem"),
                    Catch::Contains("does not exist"));
  pilot::TempDir d;
  pilot::write_file_atomic(d.path() / "junk.pem", "not a certificate");
  CHECK_THROWS_WITH(read_certificate_info(d.path() / "junk.pem"),
                    Catch::Contains("holds no PEM certificate"));
}

TEST_CASE("Credentials: discovery order of proxy, host certificate and CA directory") {
  pilot::TempDir root;
  auto put = [&](const std::string& p) {
    fs::create_directories((root.path() / p).parent_path());
    pilot::write_file_atomic(root.path() / p, "x");
  };
  CHECK_THROWS_WITH(find_credentials(env({}), 1000, root.path()),
                    Catch::Contains("no grid credential found"));
  put("etc/grid-security/hostcert.pem");
  put("etc/grid-security/hostkey.pem");
  CHECK_THROWS_WITH(find_credentials(env({}), 1000, root.path()), Catch::Contains("CA directory"));
  fs::create_directories(root.path() / "etc/grid-security/certificates");
  auto c = find_credentials(env({}), 1000, root.path());
  CHECK(c.host);
  CHECK(c.key == root.path() / "etc/grid-security/hostkey.pem");
  put("tmp/x509up_u1000");
  c = find_credentials(env({}), 1000, root.path());
  CHECK_FALSE(c.host);
  CHECK(c.cert == root.path() / "tmp/x509up_u1000");
  put("p/proxy");
  fs::create_directories(root.path() / "ca");
  c = find_credentials(env({{"X509_USER_PROXY", "/p/proxy"}, {"X509_CERT_DIR", "/ca"}}), 1000,
                       root.path());
  CHECK(c.cert == root.path() / "p/proxy");
  CHECK(c.ca_dir == root.path() / "ca");
  CHECK_THROWS_WITH(find_credentials(env({{"X509_USER_PROXY", "/p/missing"}}), 1000, root.path()),
                    Catch::Contains("X509_USER_PROXY names /p/missing"));
}

TEST_CASE("Bearer token: WLCG discovery order") {
  pilot::TempDir root;
  CHECK_FALSE(find_bearer_token(env({}), 1000, root.path()));
  fs::create_directories(root.path() / "tmp");
  pilot::write_file_atomic(root.path() / "tmp/bt_u1000", "from-tmp\n");
  CHECK(find_bearer_token(env({}), 1000, root.path()) == "from-tmp");
  fs::create_directories(root.path() / "run/user/1000");
  pilot::write_file_atomic(root.path() / "run/user/1000/bt_u1000", " from-xdg ");
  CHECK(find_bearer_token(env({{"XDG_RUNTIME_DIR", "/run/user/1000"}}), 1000, root.path()) ==
        "from-xdg");
  pilot::write_file_atomic(root.path() / "tok", "from-file");
  CHECK(
      find_bearer_token(env({{"XDG_RUNTIME_DIR", "/run/user/1000"}, {"BEARER_TOKEN_FILE", "/tok"}}),
                        1000, root.path()) == "from-file");
  CHECK(find_bearer_token(env({{"BEARER_TOKEN", "from-env"}, {"BEARER_TOKEN_FILE", "/tok"}}), 1000,
                          root.path()) == "from-env");
  CHECK_THROWS_WITH(find_bearer_token(env({{"BEARER_TOKEN_FILE", "/missing"}}), 1000, root.path()),
                    Catch::Contains("BEARER_TOKEN_FILE names"));
}

TEST_CASE("Resource description: exact types, omitted empties, bad extras named") {
  pilot::jobs::ResourceRequest r;
  r.site = "LCG.CERN.cern";
  r.cpu_work_left_hs06s = 5000;
  r.pilot_benchmark = 12.5;
  r.required_tags = {"4Processors"};
  r.whole_node = true;
  r.extra = {{"ReleaseVersion", 11},
             {"MaxRAM", "2048"},
             {"Custom", {1, 2.5}},
             {"JobType", "MCSimulation"}};
  Dict d = resource_description(r, true);
  CHECK(*d.find("Site") == Value("LCG.CERN.cern"));
  CHECK(*d.find("CPUTime") == Value(5000));
  CHECK(*d.find("PilotBenchmark") == Value(12.5));
  CHECK(*d.find("RequiredTag") == Value(list({"4Processors"})));
  CHECK(*d.find("WholeNode") == Value(true));
  CHECK(*d.find("PilotInfoReportedFlag") == Value(true));
  CHECK(*d.find("NumberOfProcessors") == Value(1));
  CHECK(*d.find("ReleaseVersion") == Value("11"));
  CHECK(*d.find("MaxRAM") == Value(2048));
  CHECK(*d.find("Custom") == Value(list({1, 2.5})));
  CHECK(d.find("GridCE") == nullptr);
  CHECK(d.find("Tag") == nullptr);
  r.extra = {{"CPUTime", "lots"}};
  CHECK_THROWS_WITH(resource_description(r, false), Catch::Contains("CPUTime = \"lots\""));
  r.extra = nlohmann::json::object();
  r.site.clear();
  CHECK_THROWS_WITH(resource_description(r, false), Catch::Contains("Site is empty"));
}
