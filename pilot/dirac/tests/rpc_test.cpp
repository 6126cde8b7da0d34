// DISET and HTTPS calls against the fake DIRAC server: the exact frames of the spec on the wire,
// matching, the Matcher's refusals, credential refusals, failover on hangs and server errors.

#include <catch2/catch.hpp>
#include <thread>

#include "dirac/codec.hpp"
#include "dirac/services.hpp"
#include "fake_server.hpp"

using namespace pilot::dirac;
using pilot::dirac::test::FakeDirac;
using std::chrono::milliseconds;

namespace {

RpcOptions options(Credentials c = test::proxy_credentials()) {
  RpcOptions o;
  o.credentials = std::move(c);
  o.setup = "Test-Setup";
  o.vo = "testvo";
  o.client_version = "v9.0.0";
  o.connect_timeout = milliseconds(3000);
  o.timeout = milliseconds(5000);
  return o;
}

Dict spec_description() {
  return dict({{"Site", "DIRAC.Test.ch"}, {"CPUTime", 86400}});
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

}  // namespace

TEST_CASE("DISET: requestJob sends the spec's exact frames and gets the job") {
  FakeDirac server;
  ServiceClient matcher{{server.diset_url()}, options(), {}};
  auto match = request_job(matcher, spec_description());
  REQUIRE(match);
  CHECK(match->job_id == 1);
  CHECK(match->jdl.find("Executable = \"/bin/echo\";") != std::string::npos);
  CHECK(match->owner == "/C=ch/O=DIRAC/OU=DIRAC CI/CN=owner");
  CHECK(match->group == "testvo_user");
  CHECK(match->pilot_info_reported);

  auto calls = server.calls("requestJob");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["raw_proposal"] ==
        "108:ds2:OKb1s5:Valuells26:WorkloadManagement/"
        "Matchers10:Test-Setups6:testvoels3:RPCs10:requestJobes0:s6:v9.0.0ee");
  CHECK(calls[0]["raw_arguments"] ==
        "62:ds2:OKb1s5:Valuelds4:Sites13:DIRAC.Test.chs7:CPUTimei86400eeee");
  CHECK(calls[0]["encoding"] == "dencode");
  CHECK(calls[0]["peer"]["group"] == "testvo_pilot");  // the DIRAC group extension of the proxy
  CHECK(calls[0]["peer"]["is_proxy"] == true);

  // The only waiting job is gone: Errno 1510.
  CHECK_FALSE(request_job(matcher, spec_description()));
  Reply raw = call({server.diset_url()}, "requestJob", list({spec_description()}), options());
  CHECK_FALSE(raw.ok);
  CHECK(raw.errno_value == 1510);
  CHECK(raw.message == "No match found ( 1510 : )");
}

TEST_CASE("DISET: JSON payloads (DIRAC v9) and keep-alives") {
  FakeDirac server({"--json", "--keepalive"});
  RpcOptions o = options();
  o.diset_json = true;
  ServiceClient matcher{{server.diset_url()}, o, {}};
  auto match = request_job(matcher, spec_description());
  REQUIRE(match);
  CHECK(match->job_id == 1);
  auto calls = server.calls("requestJob");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["encoding"] == "json");
  CHECK(calls[0]["keepalive_reply"] ==
        nlohmann::json::parse(R"({"OK": true, "Value": {"id": "ka-1", "kaping": false}})"));
}

TEST_CASE("DISET: version mismatch (1511) stops with its own error") {
  FakeDirac server({"--pilot-version", "v8.0.55"});
  ServiceClient matcher{{server.diset_url()}, options(), {}};
  Dict d = spec_description();
  d.set("ReleaseVersion", "v7.3.1");
  try {
    request_job(matcher, d);
    FAIL("no VersionMismatch");
  } catch (const VersionMismatch& e) {
    CHECK(e.errno_value == 1511);
    CHECK_THAT(e.what(), Catch::Contains("Errno 1511"));
  }
  d.set("ReleaseVersion", "v8.0.55");
  CHECK(request_job(matcher, d));
}

TEST_CASE("Auth refused: server certificate from an untrusted CA") {
  FakeDirac server({"--wrong-ca"});
  auto e = rpc_error(
      [&] { diset_call(server.diset_url(), "requestJob", list({spec_description()}), options()); });
  CHECK(e.kind == ErrorKind::auth);
  CHECK_THAT(e.what(),
             Catch::Contains("certificate verify failed: unable to get local issuer certificate"));
  auto h = rpc_error([&] {
    https_call(server.https_url(), "setJobStatus", list({1, "Running", "x", "JobWrapper"}),
               options());
  });
  CHECK(h.kind == ErrorKind::auth);
  // Not retried elsewhere: the same credentials would fail on every URL.
  FakeDirac good;
  auto f = rpc_error([&] {
    call({server.diset_url(), good.diset_url()}, "requestJob", list({spec_description()}),
         options());
  });
  CHECK(f.kind == ErrorKind::auth);
  CHECK(good.records().empty());
}

TEST_CASE("Auth refused: proxy of an untrusted CA") {
  FakeDirac server;
  auto e = rpc_error([&] {
    diset_call(server.diset_url(), "requestJob", list({spec_description()}),
               options(test::proxy_credentials("wrong_proxy.pem")));
  });
  CHECK(e.kind == ErrorKind::auth);
  CHECK_THAT(e.what(), Catch::Contains("refused our credentials"));
  auto records = server.records();
  // The server logs a refused handshake after the client has seen the alert.
  for (int i = 0; i < 100 && records.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    records = server.records();
  }
  REQUIRE(records.size() == 1);
  CHECK(records[0]["event"] == "handshake failed");
}

TEST_CASE("Auth refused: a group without GenericPilot cannot match") {
  FakeDirac server;
  auto e = rpc_error([&] {
    diset_call(server.diset_url(), "requestJob", list({spec_description()}),
               options(test::proxy_credentials("user_proxy.pem")));
  });
  CHECK(e.kind == ErrorKind::auth);
  CHECK_THAT(e.what(), Catch::Contains("Unauthorized query (Errno 1111)"));
}

TEST_CASE("Host credentials need extraCredentials \"hosts\"") {
  FakeDirac server;
  Credentials host = test::host_credentials();
  auto m = request_job(ServiceClient{{server.diset_url()}, options(host), {}}, spec_description());
  CHECK(m);
  auto jsu = ServiceClient{{server.https_url()}, options(host), {}};
  set_job_status(jsu, 1, "Running", "Job Initialization");
  auto calls = server.calls("setJobStatus");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["extra_credentials"] == "hosts");
  CHECK_THAT(calls[0]["raw_body"].get<std::string>(),
             Catch::StartsWith("method=setJobStatus&args=%5B1%2C%22Running%22%2C%22Job%"
                               "20Initialization%22%2C%22JobWrapper%22%5D&extraCredentials=%"
                               "22hosts%22&clientVO=testvo&clientSetup=Test-Setup"));

  host.host = false;  // the same certificate without the extra credentials
  auto d = rpc_error([&] {
    diset_call(server.diset_url(), "requestJob", list({spec_description()}), options(host));
  });
  CHECK(d.kind == ErrorKind::auth);
  CHECK_THAT(d.what(), Catch::Contains("Unauthorized query"));
  auto h = rpc_error([&] {
    https_call(server.https_url(), "setJobStatus", list({1, "Running", "x", "JobWrapper"}),
               options(host));
  });
  CHECK(h.kind == ErrorKind::auth);
  CHECK_THAT(h.what(), Catch::Contains("HTTP 401"));
}

TEST_CASE("Hang: the step times out and the next URL answers") {
  FakeDirac hanging({"--diset", "hang", "--https", "hang"});
  FakeDirac good;
  RpcOptions o = options();
  o.timeout = milliseconds(700);
  auto start = std::chrono::steady_clock::now();
  auto m = request_job(ServiceClient{{hanging.diset_url(), good.diset_url()}, o, {}},
                       spec_description());
  CHECK(m);
  auto e = rpc_error(
      [&] { diset_call(hanging.diset_url(), "requestJob", list({spec_description()}), o); });
  CHECK(e.kind == ErrorKind::timeout);
  CHECK_THAT(e.what(), Catch::Contains("waiting for the proposal's answer"));
  set_job_status(ServiceClient{{hanging.https_url(), good.https_url()}, o, {}}, 1, "Running",
                 "Application");
  CHECK(good.calls("setJobStatus").size() == 1);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE(
    "Giving up: calls in flight to a hanging server end within a second, later ones are not sent") {
  FakeDirac hanging({"--diset", "hang", "--https", "hang"});
  FakeDirac good;
  RpcOptions o = options();
  o.timeout = milliseconds(60000);
  o.give_up = std::make_shared<std::atomic<bool>>(false);
  for (auto url : {hanging.diset_url(), hanging.https_url()}) {
    INFO(url);
    o.give_up->store(false);
    auto start = std::chrono::steady_clock::now();
    std::thread giver([&] {
      std::this_thread::sleep_for(milliseconds(500));
      o.give_up->store(true);
    });
    // Not retried on the next URL: the pilot is leaving.
    ServiceClient client{{url, good.diset_url()}, o, {}};
    auto e = rpc_error([&] { request_job(client, spec_description()); });
    giver.join();
    CHECK(e.kind == ErrorKind::given_up);
    CHECK_FALSE(e.retryable());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
  }
  auto e = rpc_error([&] {
    request_job(ServiceClient{{good.diset_url()}, o, {}}, spec_description());
  });
  CHECK(e.kind == ErrorKind::given_up);
  CHECK_THAT(e.what(), Catch::Contains("not sent"));
  CHECK(good.calls("requestJob").empty());
}

TEST_CASE("HTTPS 500, 404, 501 and garbage are clear errors, and 500 fails over") {
  FakeDirac broken({"--https", "500"});
  FakeDirac good;
  auto e = rpc_error([&] {
    https_call(broken.https_url(), "setJobStatus", list({1, "Running", "x", "JobWrapper"}),
               options());
  });
  CHECK(e.kind == ErrorKind::server);
  CHECK_THAT(e.what(), Catch::Contains("HTTP 500: 500: Internal Server Error"));
  set_job_status(ServiceClient{{broken.https_url(), good.https_url()}, options(), {}}, 1, "Running",
                 "Application");
  CHECK(good.calls("setJobStatus").size() == 1);

  auto nf = rpc_error([&] {
    https_call(good.https_url("WorkloadManagement/NoSuchThing"), "x", list({}), options());
  });
  CHECK(nf.kind == ErrorKind::not_found);
  auto um = rpc_error([&] { https_call(good.https_url(), "noSuchMethod", list({}), options()); });
  CHECK(um.kind == ErrorKind::unknown_method);
  CHECK_THAT(um.what(), Catch::Contains("HTTP 501"));

  good.control({{"https", "garbage"}, {"diset", "garbage"}});
  auto g = rpc_error([&] {
    https_call(good.https_url(), "setJobStatus", list({1, "Running", "x", "JobWrapper"}),
               options());
  });
  CHECK(g.kind == ErrorKind::protocol);
  auto dg = rpc_error(
      [&] { diset_call(good.diset_url(), "requestJob", list({spec_description()}), options()); });
  CHECK(dg.kind == ErrorKind::protocol);
  CHECK_THAT(dg.what(), Catch::Contains("undecodable frame"));
}

TEST_CASE("DISET: a connection dropped mid-frame is a clear error") {
  FakeDirac server({"--diset", "drop"});
  auto e = rpc_error(
      [&] { diset_call(server.diset_url(), "requestJob", list({spec_description()}), options()); });
  CHECK(e.kind == ErrorKind::protocol);
  CHECK_THAT(e.what(), Catch::Contains("of 500 bytes of a frame"));
  CHECK(e.retryable());
}

TEST_CASE("JobStateUpdate over HTTPS and DISET: exact types, replies, Kill") {
  // One job per transport: the kill logged on the first job is newer than the fixed stamps below,
  // which the server would then only log.
  FakeDirac server({"--jobs", "2"});
  std::int64_t job = 0;
  for (auto url : {server.https_url(), server.diset_url("WorkloadManagement/JobStateUpdate")}) {
    INFO(url);
    ++job;
    ServiceClient jsu{{url}, options(), {}};
    Value r = set_job_status_bulk(
        jsu, job,
        {StatusEntry{DateTime{2026, 11, 25, 10, 0, 0, 5}, "Running", "Job Initialization", "",
                     "JobWrapper"},
         StatusEntry{DateTime{2026, 11, 25, 10, 0, 1, 0}, "", "", "hello", "JobWrapper"}});
    CHECK(r == Value(list({list({"MinorStatus", "ApplicationStatus"}),
                           list({"Job Initialization", "hello"})})));
    CHECK(set_job_parameters(jsu, job,
                             {{"CPUNormalizationFactor", "12.5"}, {"LocalBatchID", "42"}}) == 2);
    CHECK(send_heartbeat(jsu, job, dict({{"CPUConsumed", 1.5}}), dict({})).empty());
    server.control({{"kill", {job}}});
    auto cmds =
        send_heartbeat(jsu, job, dict({{"CPUConsumed", 2.5}}), dict({{"StandardOutput", "line"}}));
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].name == "Kill");
    server.control(nlohmann::json::object());
    try {
      set_job_status(jsu, 999, "Running", "x");
      FAIL("unknown job accepted");
    } catch (const ServiceError& e) {
      CHECK_THAT(e.what(), Catch::Contains("No Matching Job"));
    }
  }
  auto bulk = server.calls("setJobStatusBulk");
  REQUIRE(bulk.size() == 2);
  auto expected = nlohmann::json::parse(
      R"([0, {"2026-11-25 10:00:00.000005": {"Status": "Running", "MinorStatus": "Job Initialization", "Source": "JobWrapper"},
                                               "2026-11-25 10:00:01.000000": {"ApplicationStatus": "hello", "Source": "JobWrapper"}}, false])");
  expected[0] = 1;
  CHECK(bulk[0]["args"] == expected);
  expected[0] = 2;
  CHECK(bulk[1]["args"] == expected);
  auto params = server.calls("setJobParameters");
  REQUIRE(params.size() == 2);
  CHECK(params[0]["args"] ==
        nlohmann::json::parse(
            R"([1, [["CPUNormalizationFactor", "12.5"], ["LocalBatchID", "42"]]])"));
}

TEST_CASE("PilotLogging over HTTPS, and a bearer token instead of a certificate") {
  FakeDirac server({"--token", "eyJtest.token.sig"});
  RpcOptions o = options();
  o.credentials.cert.clear();
  o.bearer_token = "eyJtest.token.sig";
  ServiceClient logging{{server.https_url("WorkloadManagement/TornadoPilotLogging")}, o, {}};
  send_pilot_log(logging, R"([{"msg": "started"}])", "uuid-1", "testvo");
  finalise_pilot_logs(logging, dict({{"retCode", 0}}), "uuid-1", "testvo");
  auto sent = server.calls("sendMessage");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0]["bearer"] == "eyJtest.token.sig");
  CHECK(sent[0]["args"] ==
        nlohmann::json::parse(R"(["[{\"msg\": \"started\"}]", "uuid-1", "testvo"])"));
  o.bearer_token = "wrong";
  auto e = rpc_error([&] {
    send_pilot_log(ServiceClient{logging.urls, o, {}}, "[]", "uuid-1", "testvo");
  });
  CHECK(e.kind == ErrorKind::auth);
}
