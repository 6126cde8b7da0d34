#pragma once
// Where a site publishes one MJF set ($MACHINEFEATURES or $JOBFEATURES) and how one key is
// fetched from it: the file `<dir>/<key>` or the body of `GET <url>/<key>`. Only an absolute
// directory or an http(s) URL is a location; a relative path, `file://` or anything else is
// treated as absent (the site published nothing usable).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/http.hpp"
#include "core/log.hpp"

namespace pilot::mjf {

struct Location {
  enum class Kind { directory, url };
  Kind kind = Kind::directory;
  std::string base;  // absolute directory or URL prefix, without a trailing '/'
};

// nullopt for an empty value, a relative path, file:// or any other scheme.
std::optional<Location> parse_location(std::string_view value);

struct FetchOptions {
  http::TlsOptions tls;
  // Short: a site's MJF server that hangs must not hold the pilot. A key that times out is
  // absent, and the rest of the set is not tried in the same pass (see read_keys).
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{5000};
};

// The outcome of fetching one key. `absent`: the site does not publish it (no file, HTTP 404).
// `failed`: it could not be read (I/O error, HTTP 5xx or other non-2xx, timeout, refused); for
// a static key both mean "no value", but a dynamic key keeps its last good value on `failed`.
struct Fetched {
  enum class Status { value, absent, failed };
  Status status = Status::absent;
  std::string raw;     // the body or file contents when status == value (not yet cleaned)
  std::string reason;  // why, when failed
  bool transport_failed = false;  // connection-level failure: the server is unusable this pass
};

Fetched fetch_key(const Location& location, std::string_view key, const FetchOptions& options);

}  // namespace pilot::mjf
