// Replays fuzz inputs through a target's LLVMFuzzerTestOneInput in the normal (gcc, release and
// ASan+UBSan) builds, so every corpus file and every crash once found stays a test:
//
//   fuzz_regression_<target> <corpus dir> [<regressions dir>]
//
// The corpus must hold at least one file (an empty one would make the test pass vacuously); the
// regressions directory may be absent while a target has no findings. Each file is named before
// it runs, so a crash points at its input.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_target.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && !e.path().filename().string().starts_with("."))
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: " << argv[0] << " <corpus dir> [<regressions dir>]\n";
    return 2;
  }
  std::size_t total = 0;
  for (int i = 1; i < argc; ++i) {
    fs::path dir = argv[i];
    bool required = i == 1;
    if (!fs::is_directory(dir)) {
      if (required) {
        std::cerr << "no corpus directory " << dir << "\n";
        return 1;
      }
      continue;
    }
    auto files = inputs_in(dir);
    if (required && files.empty()) {
      std::cerr << "empty corpus directory " << dir << "\n";
      return 1;
    }
    for (const auto& f : files) {
      std::cout << "input " << f.string() << std::endl;
      std::ifstream in(f, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::cerr << "cannot read " << f << "\n";
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++total;
    }
  }
  std::cout << total << " inputs replayed without a crash or a broken invariant\n";
  return 0;
}
