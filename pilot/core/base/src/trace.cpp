#include "core/trace.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pilot::trace {
namespace {

struct Totals {
  std::int64_t n = 0;
  std::int64_t ns = 0;
  std::int64_t first_ns = 0;
  std::int64_t first_end_ns = 0;
};

struct Collector {
  std::string path;  // empty: tracing is off
  std::string process = "pilot";
  std::mutex mutex;
  std::map<std::string, Totals, std::less<>> phases;
};

// 0: not yet read, 1: off, 2: on. Read once, as the environment may change after start-up.
std::atomic<int> state{0};

Collector& collector() {
  static Collector* c = new Collector;  // never destroyed: flushed by atexit after statics go
  return *c;
}

void flush_at_exit() {
  flush();
}

bool init() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* p = std::getenv("PILOT_TRACE");
    if (p && *p) {
      collector().path = p;
      std::atexit(flush_at_exit);
    }
    state.store(p && *p ? 2 : 1, std::memory_order_release);
  });
  return state.load(std::memory_order_acquire) == 2;
}

std::int64_t epoch_ns(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void check_name(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("trace: an empty phase name");
  for (char ch : name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'))
      throw std::invalid_argument("trace: phase name '" + std::string(name) +
                                  "' is not of [a-z0-9._]");
}

void add_span(const char* name, std::int64_t took_ns, std::int64_t start_ns, std::int64_t end_ns) {
  auto& c = collector();
  std::lock_guard lock(c.mutex);
  auto it = c.phases.find(std::string_view(name));
  if (it == c.phases.end()) {
    check_name(name);
    it = c.phases.emplace(name, Totals{}).first;
  }
  auto& t = it->second;
  if (t.n++ == 0) {
    t.first_ns = start_ns;
    t.first_end_ns = end_ns;
  }
  t.ns += took_ns;
}

std::string line(const Collector& c) {
  std::string out =
      "{\"pid\":" + std::to_string(::getpid()) + ",\"process\":\"" + c.process + "\",\"phases\":{";
  bool first = true;
  for (const auto& [name, t] : c.phases) {
    if (!first) out += ',';
    first = false;
    out += "\"" + name + "\":{\"n\":" + std::to_string(t.n) + ",\"ns\":" + std::to_string(t.ns) +
           ",\"first_ns\":" + std::to_string(t.first_ns) +
           ",\"first_end_ns\":" + std::to_string(t.first_end_ns) + "}";
  }
  return out + "}}\n";
}

}  // namespace

bool enabled() {
  int s = state.load(std::memory_order_relaxed);
  return s == 2 || (s == 0 && init());
}

void set_process(const char* name) {
  if (!enabled()) return;
  check_name(name);
  auto& c = collector();
  std::lock_guard lock(c.mutex);
  c.process = name;
}

Phase::Phase(const char* name) {
  if (!enabled()) return;
  name_ = name;
  start_ = std::chrono::steady_clock::now();
  start_epoch_ns_ = epoch_ns(std::chrono::system_clock::now());
}

Phase::~Phase() {
  if (!name_) return;
  auto took = std::chrono::steady_clock::now() - start_;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  add_span(name_, ns, start_epoch_ns_, start_epoch_ns_ + ns);
}

void add(const char* name, std::chrono::nanoseconds took) {
  if (!enabled()) return;
  auto end = epoch_ns(std::chrono::system_clock::now());
  add_span(name, took.count(), end - took.count(), end);
}

void flush() {
  if (!enabled()) return;
  auto& c = collector();
  std::lock_guard lock(c.mutex);
  if (c.phases.empty()) return;
  auto text = line(c);
  c.phases.clear();
  // One append of one line: the lines of the pilot and of its keepers do not interleave.
  int fd = ::open(c.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  static bool told = false;
  if (!ok && !told) {
    told = true;
    std::fprintf(stderr, "PILOT_TRACE=%s: cannot append the phase timings\n", c.path.c_str());
  }
}

}  // namespace pilot::trace
