// Both TLS clients (DISET's own socket, HTTPS through libcurl) refuse what they must, each with a
// message naming the reason: a server certificate that has expired, names another host, signs
// itself or comes from a CA the pilot does not trust; a proxy of our own that has expired or is
// not valid yet (refused before connecting, naming the file and its dates); a proxy the server
// does not trust (refused by the server).

#include <catch2/catch.hpp>
#include <thread>

#include "dirac/rpc.hpp"
#include "fake_server.hpp"

using namespace pilot::dirac;
using pilot::dirac::test::FakeDirac;
using pilot::dirac::test::pki;

namespace {

RpcOptions options(Credentials c = test::proxy_credentials()) {
  RpcOptions o;
  o.credentials = std::move(c);
  o.setup = "Test-Setup";
  o.vo = "testvo";
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

List request_args() {
  return list({dict({{"Site", "DIRAC.Test.ch"}, {"CPUTime", 86400}})});
}
List status_args() {
  return list({1, "Running", "x", "JobWrapper"});
}

template <typename F>
RpcError rpc_error(F&& f) {
  try {
    f();
  } catch (const RpcError& e) {
    return e;
  }
  FAIL("no RpcError thrown");
  throw;
}

std::string on_ip(std::string url) {
  return url.replace(url.find("localhost"), 9, "127.0.0.1");
}

}  // namespace

TEST_CASE("TLS: an expired server certificate is refused over DISET and HTTPS, with its dates") {
  FakeDirac server({"--host-cert", "expired"});
  const std::string why =
      "certificate verify failed: certificate has expired (server certificate "
      "/C=ch/O=DIRAC/CN=localhost issued by "
      "/C=ch/O=DIRAC/CN=DIRAC Test CA, valid from 2020-01-01 00:00:00 UTC to 2020-01-02 00:00:00 "
      "UTC)";
  auto d =
      rpc_error([&] { diset_call(server.diset_url(), "requestJob", request_args(), options()); });
  CHECK(d.kind == ErrorKind::auth);
  CHECK_THAT(d.what(),
             Catch::StartsWith(server.diset_url() + " requestJob: TLS handshake: " + why) &&
                 Catch::Contains("CA directory " + (pki() / "certificates").string()));
  auto h =
      rpc_error([&] { https_call(server.https_url(), "setJobStatus", status_args(), options()); });
  CHECK(h.kind == ErrorKind::auth);
  CHECK_THAT(
      h.what(),
      Catch::StartsWith(server.https_url() + " setJobStatus: POST " + server.https_url()) &&
          Catch::Contains(why + " (CA directory " + (pki() / "certificates").string() + ")"));
  // Not retried on the next URL: every URL of the service would be refused the same way.
  FakeDirac good;
  auto f = rpc_error([&] {
    call({server.diset_url(), good.diset_url()}, "requestJob", request_args(), options());
  });
  CHECK(f.kind == ErrorKind::auth);
  CHECK(good.records().empty());
}

TEST_CASE("TLS: a server certificate for another host name is refused") {
  FakeDirac server({"--host-cert", "othername"});
  auto d =
      rpc_error([&] { diset_call(server.diset_url(), "requestJob", request_args(), options()); });
  CHECK(d.kind == ErrorKind::auth);
  CHECK_THAT(d.what(),
             Catch::Contains(
                 "TLS handshake: certificate verify failed: hostname mismatch (server certificate "
                 "/C=ch/O=DIRAC/CN=elsewhere.example issued by /C=ch/O=DIRAC/CN=DIRAC Test CA") &&
                 Catch::Contains("(server localhost:"));
  auto ip = rpc_error(
      [&] { diset_call(on_ip(server.diset_url()), "requestJob", request_args(), options()); });
  CHECK_THAT(ip.what(), Catch::Contains("certificate verify failed: IP address mismatch") &&
                            Catch::Contains("(server 127.0.0.1:"));
  auto h =
      rpc_error([&] { https_call(server.https_url(), "setJobStatus", status_args(), options()); });
  CHECK(h.kind == ErrorKind::auth);
  CHECK_THAT(h.what(), Catch::Contains("certificate verify failed: ") &&
                           Catch::Contains("matches target host name 'localhost'"));
  auto hip = rpc_error(
      [&] { https_call(on_ip(server.https_url()), "setJobStatus", status_args(), options()); });
  CHECK(hip.kind == ErrorKind::auth);
  CHECK_THAT(hip.what(),
             Catch::Contains("certificate verify failed: ") && Catch::Contains("127.0.0.1"));
  CHECK(server.calls("requestJob").empty());
  CHECK(server.calls("setJobStatus").empty());
}

TEST_CASE("TLS: a self-signed server certificate is refused") {
  FakeDirac server({"--host-cert", "selfsigned"});
  const std::string why =
      "certificate verify failed: self-signed certificate (server certificate "
      "/C=ch/O=DIRAC/CN=localhost, self-signed, valid from ";
  auto d =
      rpc_error([&] { diset_call(server.diset_url(), "requestJob", request_args(), options()); });
  CHECK(d.kind == ErrorKind::auth);
  CHECK_THAT(d.what(), Catch::Contains(why));
  auto h =
      rpc_error([&] { https_call(server.https_url(), "setJobStatus", status_args(), options()); });
  CHECK(h.kind == ErrorKind::auth);
  CHECK_THAT(h.what(), Catch::Contains(why));
}

TEST_CASE("TLS: a server certificate from a CA the pilot does not trust is refused") {
  FakeDirac server({"--host-cert", "wrong"});
  const std::string why =
      "certificate verify failed: unable to get local issuer certificate (server certificate "
      "/C=ch/O=Elsewhere/CN=localhost issued by /C=ch/O=Elsewhere/CN=Untrusted CA";
  auto d =
      rpc_error([&] { diset_call(server.diset_url(), "requestJob", request_args(), options()); });
  CHECK(d.kind == ErrorKind::auth);
  CHECK_THAT(d.what(), Catch::Contains(why));
  auto h =
      rpc_error([&] { https_call(server.https_url(), "setJobStatus", status_args(), options()); });
  CHECK(h.kind == ErrorKind::auth);
  CHECK_THAT(h.what(), Catch::Contains(why));
  // Trusting the other CA directory instead: the good server is now the stranger.
  FakeDirac good;
  auto g = rpc_error([&] {
    diset_call(good.diset_url(), "requestJob", request_args(),
               options(test::proxy_credentials("proxy.pem", "wrong-certificates")));
  });
  CHECK_THAT(g.what(),
             Catch::Contains("self-signed certificate in certificate chain (certificate "
                             "/C=ch/O=DIRAC/CN=DIRAC Test CA, self-signed") &&
                 Catch::Contains("CA directory " + (pki() / "wrong-certificates").string()));
}

TEST_CASE(
    "TLS: our own proxy expired or not yet valid is refused before connecting, naming file and "
    "dates") {
  FakeDirac server;
  struct Case {
    std::string file, message;
  };
  const Case cases[] = {
      {"expired_proxy.pem", "has expired: valid until 2020-01-02 00:00:00 UTC, now 20"},
      {"future_proxy.pem", "is not valid yet: valid from 2099-01-01 00:00:00 UTC, now 20"},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    std::string file = (pki() / c.file).string();
    auto d = rpc_error([&] {
      diset_call(server.diset_url(), "requestJob", request_args(),
                 options(test::proxy_credentials(c.file)));
    });
    CHECK(d.kind == ErrorKind::auth);
    CHECK_THAT(d.what(),
               Catch::StartsWith(server.diset_url() + " requestJob: not connecting: " + file +
                                 ": proxy /C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot/CN=") &&
                   Catch::Contains(c.message));
    auto h = rpc_error([&] {
      https_call(server.https_url(), "setJobStatus", status_args(),
                 options(test::proxy_credentials(c.file)));
    });
    CHECK(h.kind == ErrorKind::auth);
    CHECK_THAT(h.what(),
               Catch::StartsWith(server.https_url() + " setJobStatus: not connecting: " + file) &&
                   Catch::Contains(c.message));
  }
  CHECK_THAT(rpc_error([&] {
               diset_call(server.diset_url(), "requestJob", request_args(),
                          options(test::proxy_credentials("missing.pem")));
             }).what(),
             Catch::Contains("not connecting: certificate file " +
                             (pki() / "missing.pem").string() + " does not exist"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(server.records().empty());  // not even a TLS handshake
}

TEST_CASE(
    "TLS: a proxy from a CA the server does not trust is refused by the server, over both "
    "protocols") {
  FakeDirac server;
  auto d = rpc_error([&] {
    diset_call(server.diset_url(), "requestJob", request_args(),
               options(test::proxy_credentials("wrong_proxy.pem")));
  });
  CHECK(d.kind == ErrorKind::auth);
  CHECK_THAT(d.what(), Catch::Contains("the server refused our credentials") &&
                           Catch::Contains("unknown ca"));
  auto h = rpc_error([&] {
    https_call(server.https_url(), "setJobStatus", status_args(),
               options(test::proxy_credentials("wrong_proxy.pem")));
  });
  CHECK(h.kind == ErrorKind::auth);
  CHECK_THAT(h.what(), Catch::Contains("the server refused our credentials") &&
                           Catch::Contains("unknown ca"));
}
