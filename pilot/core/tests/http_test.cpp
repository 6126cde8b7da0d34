#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/http.hpp"
#include "http_server.hpp"

using namespace std::chrono_literals;
using pilot::test::HttpServer;
using pilot::test::Reply;

namespace {
pilot::http::Request request(std::string method, std::string url) {
  pilot::http::Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}
}  // namespace

TEST_CASE("GET returns status, body and content type from a real server") {
  HttpServer server;
  server.set("/machine/hs06", {200, "  123.5\n", {}, "text/plain"});
  auto r = pilot::http::perform(request("GET", server.url("/machine/hs06")));
  CHECK(r.status == 200);
  CHECK(r.ok());
  CHECK(r.body == "  123.5\n");
  CHECK(r.content_type == "text/plain");
}

TEST_CASE("error statuses are responses, not exceptions") {
  HttpServer server;
  server.set("/boom", {500, "<html>Internal error</html>", {}, "text/html"});
  CHECK(pilot::http::perform(request("GET", server.url("/missing"))).status == 404);
  auto r = pilot::http::perform(request("GET", server.url("/boom")));
  CHECK(r.status == 500);
  CHECK_FALSE(r.ok());
}

TEST_CASE("POST sends the form body") {
  HttpServer server;
  server.set("/WorkloadManagement/JobStateUpdate", {200, "{\"OK\": true}", {}, "application/json"});
  auto req = request("POST", server.url("/WorkloadManagement/JobStateUpdate"));
  req.body = pilot::http::form_encode({{"method", "setJobStatus"}, {"args", "[1, \"Running\"]"}});
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto r = pilot::http::perform(req);
  CHECK(r.body == "{\"OK\": true}");
  CHECK(server.last_body() == "method=setJobStatus&args=%5B1%2C%20%22Running%22%5D");
  CHECK(server.requests().back() == "POST /WorkloadManagement/JobStateUpdate");
}

TEST_CASE("a server that hangs times out with an error naming the URL") {
  HttpServer server;
  server.set("/slow", {200, "late", 3000ms});
  auto req = request("GET", server.url("/slow"));
  req.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(pilot::http::perform(req),
                    Catch::Contains(server.url("/slow")) && Catch::Contains("imed out"));
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("a refused connection and an oversized reply are errors naming the URL") {
  int port = 0;
  {
    HttpServer gone;
    port = gone.port();
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  CHECK_THROWS_WITH(pilot::http::perform(request("GET", url)), Catch::Contains(url));

  HttpServer server;
  server.set("/big", {200, std::string(10000, 'x')});
  auto req = request("GET", server.url("/big"));
  req.max_body = 100;
  CHECK_THROWS_WITH(pilot::http::perform(req), Catch::Contains("larger than 100 bytes"));
}

TEST_CASE("form_encode escapes reserved characters") {
  CHECK(pilot::http::form_encode({{"a b", "x&y=z"}, {"k", ""}}) == "a%20b=x%26y%3Dz&k=");
}

TEST_CASE("find_ca_bundle prefers the environment, then the usual locations under a root") {
  pilot::TempDir root("ca-test");
  std::filesystem::create_directories(root.path() / "etc/ssl/certs");
  std::ofstream(root.path() / "etc/ssl/certs/ca-certificates.crt") << "x";
  ::unsetenv("PILOT_CA_BUNDLE");
  ::unsetenv("SSL_CERT_FILE");
  ::unsetenv("CURL_CA_BUNDLE");
  CHECK(pilot::http::find_ca_bundle(root.path()) ==
        root.path() / "etc/ssl/certs/ca-certificates.crt");
  ::setenv("PILOT_CA_BUNDLE", "/some/bundle.pem", 1);
  CHECK(pilot::http::find_ca_bundle(root.path()) == "/some/bundle.pem");
  ::unsetenv("PILOT_CA_BUNDLE");
  pilot::TempDir empty("ca-test");
  CHECK_FALSE(pilot::http::find_ca_bundle(empty.path()).has_value());
}
