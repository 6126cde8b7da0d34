// The DISET frame reader (pilot/dirac diset_frame): the first input byte chooses how the rest is
// cut into reads, as a socket would deliver it. However the bytes arrive, the same frames come
// out (or the same error); no frame exceeds the limit; frames written back out read the same;
// every payload goes through the receiver's decoder without any exception but pilot::Error.

#include <vector>

#include "core/error.hpp"
#include "dirac/codec.hpp"
#include "dirac/diset_frame.hpp"
#include "fuzz_target.hpp"

using pilot::dirac::DisetFrame;
using pilot::dirac::DisetFrameReader;

namespace {

constexpr std::size_t kMaxFrame = 4096;

struct Outcome {
  std::vector<DisetFrame> frames;
  bool failed = false;
};

Outcome read_in_pieces(std::string_view bytes, std::size_t piece) {
  DisetFrameReader reader(kMaxFrame);
  Outcome out;
  try {
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      reader.feed(bytes.substr(at, piece));
      while (auto f = reader.next()) out.frames.push_back(std::move(*f));
    }
  } catch (const pilot::Error&) {
    out.failed = true;
  }
  return out;
}

bool same(const std::vector<DisetFrame>& a, const std::vector<DisetFrame>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].keep_alive != b[i].keep_alive || a[i].payload != b[i].payload) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = data[0] % 16 + 1;
  std::string_view bytes = pilot::fuzz::as_text(data + 1, size - 1);
  Outcome whole = read_in_pieces(bytes, bytes.size() + 1);
  Outcome pieces = read_in_pieces(bytes, piece);
  FUZZ_CHECK(whole.failed == pieces.failed, "an error depends on how the bytes arrive");
  FUZZ_CHECK(same(whole.frames, pieces.frames), "frames depend on how the bytes arrive");

  std::string rewritten;
  for (const auto& f : whole.frames) {
    FUZZ_CHECK(f.payload.size() <= kMaxFrame, std::to_string(f.payload.size()));
    rewritten += (f.keep_alive ? "dka" : "") + std::to_string(f.payload.size()) + ":" + f.payload;
    try {
      (void)pilot::dirac::mixed_decode(f.payload);
    } catch (const pilot::Error&) {
    }
  }
  Outcome reread = read_in_pieces(rewritten, rewritten.size() + 1);
  FUZZ_CHECK(!reread.failed && same(reread.frames, whole.frames), rewritten);
  return 0;
}
