#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "dirac/diset_frame.hpp"

using pilot::dirac::DisetFrameReader;

namespace {
const std::string kProposal =
    "108:ds2:OKb1s5:Valuells26:WorkloadManagement/Matchers10:Test-Setups6:testvoels3:RPCs10:"
    "requestJobes0:s6:v9.0.0ee";
}

TEST_CASE("DISET frames: the spec's frame, whole and one byte at a time") {
  DisetFrameReader whole(1 << 20);
  whole.feed(kProposal);
  auto f = whole.next();
  REQUIRE(f);
  CHECK_FALSE(f->keep_alive);
  CHECK(f->payload == kProposal.substr(4));
  CHECK_FALSE(whole.next());

  DisetFrameReader bytewise(1 << 20);
  std::optional<pilot::dirac::DisetFrame> got;
  for (std::size_t i = 0; i < kProposal.size(); ++i) {
    CHECK_FALSE(got);
    bytewise.feed(kProposal.substr(i, 1));
    got = bytewise.next();
    if (i >= 4 && !got) CHECK(bytewise.pending_length() == 108u);
  }
  REQUIRE(got);
  CHECK(got->payload == f->payload);
}

TEST_CASE("DISET frames: a keep-alive marks only the frame it precedes") {
  DisetFrameReader r(1 << 20);
  r.feed("dka5:ds0:e3:abc0:");
  auto a = r.next(), b = r.next(), c = r.next();
  REQUIRE((a && b && c));
  CHECK((a->keep_alive && a->payload == "ds0:e"));
  CHECK((!b->keep_alive && b->payload == "abc"));
  CHECK((!c->keep_alive && c->payload.empty()));
  CHECK_FALSE(r.next());
}

TEST_CASE("DISET frames: malformed headers and oversized frames are refused") {
  auto error_of = [](std::string_view bytes, std::size_t max = 100) -> std::string {
    DisetFrameReader r(max);
    r.feed(bytes);
    try {
      while (r.next()) {
      }
    } catch (const pilot::Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error_of("HTTP/1.1 400 Bad Request") == "malformed frame header 'HTTP/1.1 400 Bad Req'");
  CHECK(error_of(":abc") == "malformed frame header ':abc'");
  CHECK(error_of("12345678901:x") == "malformed frame header '12345678901:x'");
  CHECK(error_of("1a:x") == "malformed frame header '1a:x'");
  CHECK(error_of("101:") == "frame of 101 bytes exceeds the limit of 100");
  CHECK(error_of("9999999999:", 64 << 20) ==
        "frame of 9999999999 bytes exceeds the limit of 67108864");
  // Fewer than 12 bytes without a ':' may still become a header: wait for more.
  CHECK(error_of("12345678901") == "no error");
}
