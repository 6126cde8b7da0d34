#include <catch2/catch.hpp>
#include <string>

#include "monitor/stomp_client.hpp"
#include "monitor/stomp_publisher.hpp"

using namespace pilot::monitor;
using namespace std::string_literals;

TEST_CASE("STOMP header escaping round-trips the four escapes of 1.2") {
  std::string raw = "a:b\\c\nd\re";
  CHECK(escape_header(raw) == "a\\cb\\\\c\\nd\\re");
  CHECK(unescape_header(escape_header(raw)) == raw);
  CHECK_THROWS_AS(unescape_header("tab\\t"), StompError);
  CHECK_THROWS_AS(unescape_header("trailing\\"), StompError);
}

TEST_CASE("a SEND frame is escaped and carries its content-length") {
  StompFrame f{"SEND", {{"destination", "/queue/a:b"}, {"receipt", "r1"}}, "{\"x\":1}"};
  CHECK(encode_frame(f) ==
        "SEND\ndestination:/queue/a\\cb\nreceipt:r1\ncontent-length:7\n\n{\"x\":1}"s + '\0');
}

TEST_CASE("CONNECT headers are not escaped, as the specification says") {
  StompFrame f{"CONNECT", {{"login", "a:b"}}, {}};
  CHECK(encode_frame(f) == "CONNECT\nlogin:a:b\n\n"s + '\0');
}

TEST_CASE("the parser splits frames, skips heart-beats and waits for whole frames") {
  FrameParser p;
  std::string wire = "\n\r\nRECEIPT\nreceipt-id:r\\c1\n\n"s + '\0' +
                     "\nMESSAGE\r\ncontent-length:3\r\nx:1\r\n\r\na\0b"s + '\0';
  p.feed(wire.substr(0, 10));
  CHECK_FALSE(p.next());
  p.feed(wire.substr(10));
  auto r = p.next();
  REQUIRE(r);
  CHECK(r->command == "RECEIPT");
  CHECK(r->header("receipt-id") == "r:1");
  auto m = p.next();
  REQUIRE(m);
  CHECK(m->command == "MESSAGE");
  CHECK(m->body == "a\0b"s);
  CHECK(m->header("x") == "1");
  CHECK_FALSE(p.next());
}

TEST_CASE("the first of a repeated header wins") {
  FrameParser p;
  p.feed("MESSAGE\nfoo:1\nfoo:2\n\n"s + '\0');
  auto m = p.next();
  REQUIRE(m);
  CHECK(m->header("foo") == "1");
}

TEST_CASE("malformed frames are protocol errors") {
  auto kind_of = [](const std::string& wire) {
    FrameParser p;
    p.feed(wire);
    try {
      p.next();
    } catch (const StompError& e) {
      return std::string(stomp_error_kind_name(e.kind));
    }
    return std::string("none");
  };
  CHECK(kind_of("MESSAGE\nno colon\n\n"s + '\0') == "protocol");
  CHECK(kind_of("MESSAGE\ncontent-length:x\n\n"s + '\0') == "protocol");
  CHECK(kind_of("MESSAGE\ncontent-length:1\n\nab"s + '\0') == "protocol");
  CHECK(kind_of("MESSAGE\nbad:\\t\n\n"s + '\0') == "protocol");
}

TEST_CASE("every error kind and record kind has a name") {
  for (auto k : {StompErrorKind::transport, StompErrorKind::tls, StompErrorKind::timeout,
                 StompErrorKind::refused, StompErrorKind::protocol})
    CHECK(std::string(stomp_error_kind_name(k)) != "?");
  CHECK(std::string(record_kind_name(RecordKind::job)) == "job");
  CHECK(std::string(record_kind_name(RecordKind::pilot)) == "pilot");
}

TEST_CASE("the back-off doubles up to its cap, scaled by the jitter") {
  PublisherOptions o;
  o.backoff_min = std::chrono::milliseconds(100);
  o.backoff_max = std::chrono::milliseconds(1000);
  CHECK(backoff_delay(o, 1, 1.0).count() == 100);
  CHECK(backoff_delay(o, 2, 1.0).count() == 200);
  CHECK(backoff_delay(o, 4, 1.0).count() == 800);
  CHECK(backoff_delay(o, 5, 1.0).count() == 1000);
  CHECK(backoff_delay(o, 1000, 1.0).count() == 1000);
  CHECK(backoff_delay(o, 3, 0.5).count() == 200);
  CHECK(backoff_delay(o, 3, 0.0).count() == 200);  // the jitter is clamped to [0.5, 1]
}
