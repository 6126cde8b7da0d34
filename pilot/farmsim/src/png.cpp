#include "farmsim/png.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <fstream>

#include "core/error.hpp"

namespace pilot::farmsim {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Length, type, data, and the CRC over type and data.
void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  out += body;
  auto crc = crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  put_u32(out, static_cast<std::uint32_t>(crc));
}

std::string header(const Image& image) {
  std::string ihdr;
  put_u32(ihdr, static_cast<std::uint32_t>(image.width()));
  put_u32(ihdr, static_cast<std::uint32_t>(image.height()));
  ihdr += std::string{8, 2, 0, 0, 0};  // bit depth 8, RGB, deflate, no filter, no interlace
  return ihdr;
}

// Each row prefixed by filter type 0 (none).
std::string scanlines(const Image& image) {
  std::string raw;
  auto row = static_cast<std::size_t>(image.width()) * 3;
  raw.reserve((row + 1) * image.height());
  const auto* pixels = reinterpret_cast<const char*>(image.rgb().data());
  for (int y = 0; y < image.height(); ++y) {
    raw.push_back(0);
    raw.append(pixels + row * y, row);
  }
  return raw;
}

std::string deflate(const std::string& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(size, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                     reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                     Z_BEST_COMPRESSION);
  if (rc != Z_OK) throw Error("PNG: zlib compress2 failed (" + std::to_string(rc) + ")");
  out.resize(size);
  return out;
}

}  // namespace

std::string encode_png(const Image& image) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  put_chunk(png, "IHDR", header(image));
  put_chunk(png, "IDAT", deflate(scanlines(image)));
  put_chunk(png, "IEND", "");
  return png;
}

void write_png(const std::string& path, const Image& image) {
  std::string png = encode_png(image);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw_errno("cannot write " + path, errno);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  out.close();
  if (!out) throw_errno("cannot write " + path, errno);
}

}  // namespace pilot::farmsim
