#include "farmsim/image.hpp"

#include <algorithm>
#include <cmath>

#include "farmsim/font.hpp"

namespace pilot::farmsim {

Image::Image(int width, int height, Rgb background)
    : width_(std::max(0, width)), height_(std::max(0, height)) {
  rgb_.resize(static_cast<std::size_t>(width_) * height_ * 3);
  fill_rect(0, 0, width_, height_, background);
}

Rgb Image::pixel(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return {};
  auto at = (static_cast<std::size_t>(y) * width_ + x) * 3;
  return {rgb_[at], rgb_[at + 1], rgb_[at + 2]};
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  auto at = (static_cast<std::size_t>(y) * width_ + x) * 3;
  rgb_[at] = c.r;
  rgb_[at + 1] = c.g;
  rgb_[at + 2] = c.b;
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = std::max(0, y0); y < std::min(height_, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(width_, x1); ++x) set(x, y, c);
}

void Image::line(double x0, double y0, double x1, double y1, Rgb c, int thickness, int dash) {
  // One step per pixel along the longer axis; a square pen of `thickness` at each step.
  double steps = std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)));
  int n = static_cast<int>(std::min(steps, 1e5));
  int half = (thickness - 1) / 2;
  for (int i = 0; i <= n; ++i) {
    if (dash > 0 && (i / dash) % 2 == 1) continue;
    double f = n == 0 ? 0 : static_cast<double>(i) / n;
    int x = static_cast<int>(std::lround(x0 + (x1 - x0) * f)) - half;
    int y = static_cast<int>(std::lround(y0 + (y1 - y0) * f)) - half;
    fill_rect(x, y, x + thickness, y + thickness, c);
  }
}

void Image::text(int x, int y, std::string_view text, Rgb c, int scale) {
  for (char ch : text) {
    for (int gy = 0; gy < kGlyphHeight; ++gy)
      for (int gx = 0; gx < kGlyphWidth; ++gx)
        if (glyph_pixel(ch, gx, gy))
          fill_rect(x + gx * scale, y + gy * scale, x + (gx + 1) * scale, y + (gy + 1) * scale, c);
    x += kGlyphAdvance * scale;
  }
}

int Image::text_width(std::string_view text, int scale) {
  if (text.empty()) return 0;
  return (static_cast<int>(text.size()) * kGlyphAdvance - 1) * scale;
}

int Image::text_height(int scale) {
  return kGlyphHeight * scale;
}

}  // namespace pilot::farmsim
