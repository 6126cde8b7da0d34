#include "mjf/location.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::mjf {
namespace {

// A value is one short line; anything bigger is not an MJF value (a mis-set variable pointing at
// a log directory, a server returning a page).
constexpr std::size_t kMaxValueBytes = 64 * 1024;

std::string without_trailing_slashes(std::string_view s, std::size_t keep) {
  while (s.size() > keep && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::optional<Location> parse_location(std::string_view value) {
  if (value.starts_with("/"))
    return Location{Location::Kind::directory, without_trailing_slashes(value, 1)};
  for (std::string_view scheme : {"http://", "https://"}) {
    if (value.size() > scheme.size() && value.substr(0, scheme.size()) == scheme)
      return Location{Location::Kind::url, without_trailing_slashes(value, scheme.size())};
  }
  return std::nullopt;
}

Fetched fetch_key(const Location& location, std::string_view key, const FetchOptions& options) {
  Fetched out;
  if (location.kind == Location::Kind::directory) {
    std::filesystem::path path = location.base;
    path /= key;
    try {
      auto data = read_file(path, kMaxValueBytes);
      if (!data) return out;
      out.status = Fetched::Status::value;
      out.raw = std::move(*data);
    } catch (const std::exception& e) {
      out.status = Fetched::Status::failed;
      out.reason = e.what();
    }
    return out;
  }
  http::Request req;
  req.url = location.base + "/" + std::string(key);
  req.connect_timeout = options.connect_timeout;
  req.timeout = options.timeout;
  req.max_body = kMaxValueBytes;
  try {
    auto resp = http::perform(req, options.tls);
    if (resp.ok()) {
      out.status = Fetched::Status::value;
      out.raw = std::move(resp.body);
    } else if (resp.status == 404 || resp.status == 410) {
      out.status = Fetched::Status::absent;
    } else {
      out.status = Fetched::Status::failed;
      out.reason = "GET " + req.url + " answered HTTP " + std::to_string(resp.status);
    }
  } catch (const std::exception& e) {
    out.status = Fetched::Status::failed;
    out.reason = e.what();
    // Refused, timed out, TLS, an oversized reply: this server is of no use in this pass.
    out.transport_failed = true;
  }
  return out;
}

}  // namespace pilot::mjf
