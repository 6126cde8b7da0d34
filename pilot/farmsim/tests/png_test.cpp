#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "farmsim/font.hpp"
#include "farmsim/plot.hpp"
#include "farmsim/png.hpp"
#include "farmsim/simulation.hpp"

using namespace pilot::farmsim;

namespace {

std::uint32_t u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

struct Chunk {
  std::string type;
  std::string data;
};

// Every chunk of a PNG file, each CRC checked.
std::vector<Chunk> chunks(const std::string& png) {
  std::vector<Chunk> out;
  std::size_t at = 8;
  while (at < png.size()) {
    REQUIRE(at + 12 <= png.size());
    std::uint32_t length = u32(png, at);
    REQUIRE(at + 12 + length <= png.size());
    std::string body = png.substr(at + 4, 4 + length);
    auto crc =
        crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
    CHECK(u32(png, at + 8 + length) == crc);
    out.push_back({body.substr(0, 4), body.substr(4)});
    at += 12 + length;
  }
  return out;
}

std::string inflate_all(const std::string& data, std::size_t expected) {
  std::string raw(expected + 1, '\0');  // one byte more: a longer stream would show
  uLongf size = static_cast<uLongf>(raw.size());
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &size,
                     reinterpret_cast<const Bytef*>(data.data()),
                     static_cast<uLong>(data.size())) == Z_OK);
  raw.resize(size);
  return raw;
}

Image plotted_run() {
  Scenario s = preset(ScenarioKind::standard);
  s.nodes = 20;
  s.slots_per_node = 4;
  s.job_min_s = 100;
  s.job_max_s = 300;
  s.matcher_workers = 2;
  s.outage = Outage{200, 100};
  s.duration_s = 900;
  std::vector<PolicyRun> runs;
  for (auto p : s.policies) runs.push_back({p, simulate(s, p)});
  return plot(s, runs, 1000, 600);
}

}  // namespace

TEST_CASE("the plot is a valid PNG: signature, IHDR, CRCs, and rows of filter byte + RGB") {
  Image image = plotted_run();
  std::string png = encode_png(image);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  auto all = chunks(png);
  REQUIRE(all.size() == 3);
  CHECK(all[0].type == "IHDR");
  CHECK(all[1].type == "IDAT");
  CHECK(all[2].type == "IEND");
  REQUIRE(all[0].data.size() == 13);
  CHECK(u32(all[0].data, 0) == 1000);
  CHECK(u32(all[0].data, 4) == 600);
  CHECK(all[0].data.substr(8) == std::string{8, 2, 0, 0, 0});
  std::size_t expected = 600 * (1 + 1000 * 3);
  std::string raw = inflate_all(all[1].data, expected);
  REQUIRE(raw.size() == expected);
  for (std::size_t row = 0; row < 600; ++row) CHECK(raw[row * (1 + 1000 * 3)] == 0);
  // The pixels are the image's, row by row.
  CHECK(raw.substr(1, 3000) == std::string(image.rgb().begin(), image.rgb().begin() + 3000));
}

TEST_CASE("the plot draws on its panels: not a blank image") {
  Image image = plotted_run();
  std::size_t inked = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x)
      if (image.pixel(x, y) != Rgb{255, 255, 255}) ++inked;
  CHECK(inked > 10000);
  CHECK(inked < std::size_t{1000} * 600 / 2);
}

TEST_CASE("the font: known glyphs, '?' for what it lacks, nothing outside the cell") {
  CHECK(glyph_pixel('I', 2, 3));
  CHECK_FALSE(glyph_pixel('I', 0, 3));
  CHECK_FALSE(glyph_pixel(' ', 2, 3));
  for (int y = 0; y < kGlyphHeight; ++y)
    for (int x = 0; x < kGlyphWidth; ++x)
      CHECK(glyph_pixel('\x01', x, y) == glyph_pixel('?', x, y));
  CHECK_FALSE(glyph_pixel('#', -1, 0));
  CHECK_FALSE(glyph_pixel('#', kGlyphWidth, 0));
}

TEST_CASE("drawing is clipped at the image's edges") {
  Image image(10, 10, Rgb{255, 255, 255});
  image.line(-5, -5, 20, 20, Rgb{0, 0, 0}, 3);
  image.text(8, 8, "WWW", Rgb{0, 0, 0}, 2);
  image.fill_rect(-3, -3, 2, 2, Rgb{1, 2, 3});
  CHECK(image.pixel(0, 0) == Rgb{1, 2, 3});
  CHECK(image.pixel(5, 5) == Rgb{0, 0, 0});
  CHECK(image.rgb().size() == 300);
}
