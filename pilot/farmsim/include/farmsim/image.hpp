#pragma once
// An RGB raster and what the plot draws on it: rectangles, lines (solid or dashed, some pixels
// thick) and text in the embedded font. Whatever falls outside the image is clipped, never an
// error; nothing here throws (beyond std::bad_alloc).

#include <cstdint>
#include <string_view>
#include <vector>

namespace pilot::farmsim {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

class Image {
 public:
  Image(int width, int height, Rgb background);

  int width() const { return width_; }
  int height() const { return height_; }
  // Row-major from the top left, three bytes a pixel.
  const std::vector<std::uint8_t>& rgb() const { return rgb_; }
  Rgb pixel(int x, int y) const;  // black outside the image

  void set(int x, int y, Rgb c);
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // [x0, x1) x [y0, y1)
  // From (x0, y0) to (x1, y1), `thickness` pixels wide; dash > 0: `dash` pixels on, then off.
  void line(double x0, double y0, double x1, double y1, Rgb c, int thickness = 1, int dash = 0);
  // `text` with its top left at (x, y), each font pixel `scale` x `scale` pixels.
  void text(int x, int y, std::string_view text, Rgb c, int scale = 1);

  static int text_width(std::string_view text, int scale = 1);
  static int text_height(int scale = 1);

 private:
  int width_;
  int height_;
  std::vector<std::uint8_t> rgb_;
};

}  // namespace pilot::farmsim
