#include "farmsim/random.hpp"

#include <cmath>
#include <numbers>

namespace pilot::farmsim {

namespace {

std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  // Mixing twice keeps neighbouring streams (pilot i and i+1) unrelated.
  return mix(mix(seed) ^ mix(stream + 0x632be59bd9b4e019ULL));
}

std::uint64_t Random::next() {
  return mix(state_ += 0x9e3779b97f4a7c15ULL);
}

double Random::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Random::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
}

double Random::exponential(double mean) {
  // 1 - u is in (0, 1], so the logarithm is finite.
  return -mean * std::log(1 - uniform());
}

double Random::standard_normal() {
  // Box-Muller, one value per call: the stream stays a plain sequence of draws.
  double u1 = 1 - uniform();
  double u2 = uniform();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

double Random::lognormal(double mean, double cv) {
  double sigma2 = std::log1p(cv * cv);
  double mu = std::log(mean) - sigma2 / 2;
  return std::exp(mu + std::sqrt(sigma2) * standard_normal());
}

std::size_t Random::weighted(std::span<const double> weights) {
  double total = 0;
  for (double w : weights) total += w;
  double x = uniform() * total;
  for (std::size_t i = 0; i + 1 < weights.size(); ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return weights.size() - 1;
}

}  // namespace pilot::farmsim
