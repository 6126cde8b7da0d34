// `pilot dirac call` and `pilot dirac proxy-info` run as the built binary against the fake server.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fake_server.hpp"
#include "run_pilot.hpp"

using pilot::dirac::test::FakeDirac;
using pilot::dirac::test::pki;

TEST_CASE("pilot dirac call: requestJob over DISET, a refusal, an unreachable server") {
  FakeDirac server;
  std::map<std::string, std::string> env{{"X509_USER_PROXY", (pki() / "proxy.pem").string()},
                                         {"X509_CERT_DIR", (pki() / "certificates").string()}};
  auto r = pilot::test::run_pilot({"dirac", "call", server.diset_url(), "requestJob",
                                   R"([{"Site": "DIRAC.Test.ch", "CPUTime": 86400}])", "--setup",
                                   "Test-Setup", "--vo", "testvo"},
                                  env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["Value"]["JobID"] == 1);
  auto again = pilot::test::run_pilot(
      {"dirac", "call", server.diset_url(), "requestJob",
       R"([{"Site": "DIRAC.Test.ch", "CPUTime": 86400}])", "--setup", "Test-Setup"},
      env);
  CHECK(again.exit_code == 1);
  CHECK(nlohmann::json::parse(again.out)["Errno"] == 1510);
  auto bad =
      pilot::test::run_pilot({"dirac", "call", server.diset_url(), "requestJob", "{not json"}, env);
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("ARGS must be a JSON list"));
  auto down = pilot::test::run_pilot(
      {"dirac", "call", "dips://127.0.0.1:1/WorkloadManagement/Matcher", "requestJob", "[]"}, env);
  CHECK(down.exit_code == 1);
  CHECK_THAT(down.err, Catch::Contains("cannot connect to 127.0.0.1:1"));
}

TEST_CASE("pilot dirac proxy-info shows the group and refuses an expired proxy") {
  auto r = pilot::test::run_pilot({"dirac", "proxy-info", (pki() / "proxy.pem").string()});
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["group"] == "testvo_pilot");
  CHECK(out["identity"] == "/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot");
  CHECK(out["seconds_left"].get<long>() > 3600);
  auto e = pilot::test::run_pilot({"dirac", "proxy-info", (pki() / "expired_proxy.pem").string()});
  CHECK(e.exit_code == 1);
  CHECK(nlohmann::json::parse(e.out)["seconds_left"] == 0);
}

TEST_CASE("pilot dirac call shows why TLS was refused") {
  FakeDirac server({"--host-cert", "selfsigned"});
  std::map<std::string, std::string> env{{"X509_USER_PROXY", (pki() / "proxy.pem").string()},
                                         {"X509_CERT_DIR", (pki() / "certificates").string()}};
  auto r = pilot::test::run_pilot({"dirac", "call", server.diset_url(), "requestJob", "[{}]"}, env);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("certificate verify failed: self-signed certificate"));
  auto p = pilot::test::run_pilot(
      {"dirac", "call", server.https_url(), "setJobStatus", "[1, \"Running\", \"\", \"x\"]",
       "--proxy", (pki() / "expired_proxy.pem").string()},
      env);
  CHECK(p.exit_code == 1);
  CHECK_THAT(p.err, Catch::Contains("not connecting: " + (pki() / "expired_proxy.pem").string()) &&
                        Catch::Contains("has expired: valid until 2020-01-02 00:00:00 UTC"));
  CHECK(server.records().empty() ==
        false);  // the self-signed handshake reached it; the expired proxy did not
}
