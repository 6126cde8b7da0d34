#pragma once
// An Image as a PNG file: 8-bit RGB, not interlaced, every row unfiltered, one IDAT chunk
// compressed by zlib, each chunk's CRC-32 from zlib.

#include <string>

#include "farmsim/image.hpp"

namespace pilot::farmsim {

// The file's bytes. Throws pilot::Error if zlib fails.
std::string encode_png(const Image& image);
// Throws pilot::Error naming `path` if it cannot be written.
void write_png(const std::string& path, const Image& image);

}  // namespace pilot::farmsim
