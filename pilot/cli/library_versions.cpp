#include "library_versions.hpp"

#include <curl/curl.h>
#include <fmt/core.h>
#include <gnu/libc-version.h>
#include <openssl/crypto.h>
#include <spdlog/version.h>
#include <zstd.h>
#include <CLI/Version.hpp>
#include <boost/version.hpp>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

namespace pilot::cli {

std::vector<std::pair<std::string, std::string>> library_versions() {
  auto dotted = [](int a, int b, int c) {
    return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
  };
  const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
  std::string curl_text = curl->version;
  if (curl->ares) curl_text += std::string(" (c-ares ") + curl->ares + ")";
  if (curl->nghttp2_version) curl_text += std::string(" (nghttp2 ") + curl->nghttp2_version + ")";
  return {
      {"glibc", gnu_get_libc_version()},
      {"openssl", OpenSSL_version(OPENSSL_VERSION)},
      {"libcurl", curl_text},
      {"zlib", curl->libz_version ? curl->libz_version : "none"},
      {"zstd", ZSTD_versionString()},
      {"boost", dotted(BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100)},
      {"spdlog", dotted(SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH)},
      {"fmt", dotted(FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
      {"nlohmann_json", dotted(NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                               NLOHMANN_JSON_VERSION_PATCH)},
      {"cli11", CLI11_VERSION},
      {"pugixml", dotted(PUGIXML_VERSION / 1000, PUGIXML_VERSION / 10 % 100, PUGIXML_VERSION % 10)},
  };
}

}  // namespace pilot::cli
