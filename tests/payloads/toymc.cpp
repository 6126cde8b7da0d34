// toymc: a small Monte Carlo payload that behaves like an interruptible Gaudi application, for
// the tests and benchmarks of interruptible MC. Each event costs a configurable amount of real
// CPU time and is appended to the output file; after every event (or every K events) the output
// is synced and the checkpoint file replaced atomically. On a stop signal the event in flight is
// finished, the output and the XML summary are finalised, and the process exits 128 + signal,
// like Gaudi's StopSignalHandler.
//
//   toymc [--events N] [--cpu-ms-per-event MS] [--output FILE] [--summary FILE]
//         [--checkpoint FILE] [--checkpoint-every K] [--stop-signals INT,USR1,XCPU]
//         [--ignore-stop] [--finalise-ms MS] [--fail-after N] [--stop-stamp FILE]
//
// --stop-stamp FILE: write the CLOCK_REALTIME (ns since the epoch) at which the first stop
// signal arrived, for the interrupt-latency benchmark (ci/bench). Every checkpoint also carries
// cpu_ms, the process CPU time when its events were safe on disk (ci/bench's reclaim yield).
//
// N defaults to $PILOT_NUMBER_OF_EVENTS and the checkpoint file to $PILOT_CHECKPOINT_FILE.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop_signal = 0;  // written by the signal handler only
timespec g_stop_at{};                     // idem; read after the loop, once the signal is set

void on_stop(int sig) {
  if (g_stop_signal != 0) return;
  // clock_gettime is async-signal-safe; the file is written outside the handler.
  clock_gettime(CLOCK_REALTIME, &g_stop_at);
  std::atomic_signal_fence(std::memory_order_release);
  g_stop_signal = sig;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "toymc: %s\n", msg.c_str());
  std::exit(2);
}

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Burns `ms` of CPU time and returns a value that depends on every iteration, so the work
// cannot be optimised away.
double simulate_event(std::int64_t i, double ms) {
  double start = cpu_ms();
  double x = static_cast<double>(i) + 0.5;
  do {
    for (int k = 0; k < 2000; ++k) x = std::sin(x) * 1.0001 + std::sqrt(std::fabs(x) + 1.0);
  } while (cpu_ms() - start < ms);
  return x;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("cannot write " + tmp + ": " + std::strerror(errno));
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0)
    die("cannot write " + tmp + ": " + std::strerror(errno));
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    die("cannot rename " + tmp + ": " + std::strerror(errno));
}

std::string summary_xml(bool success, const char* step, const std::string& output,
                        std::int64_t events, const char* status) {
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<summary version=\"1.0\">\n";
  s += std::string("  <success>") + (success ? "True" : "False") + "</success>\n";
  s += std::string("  <step>") + step + "</step>\n  <input/>\n  <output>\n";
  s += "    <file GUID=\"\" name=\"PFN:" + output + "\" status=\"" + status + "\">" +
       std::to_string(events) + "</file>\n  </output>\n";
  s += "  <counters>\n    <counter name=\"ToyMC/GeneratedEvents\">" + std::to_string(events) +
       "</counter>\n  </counters>\n</summary>\n";
  return s;
}

int signal_number(const std::string& name) {
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  if (n == "INT") return SIGINT;
  if (n == "USR1") return SIGUSR1;
  if (n == "USR2") return SIGUSR2;
  if (n == "XCPU") return SIGXCPU;
  if (n == "TERM") return SIGTERM;
  if (n == "HUP") return SIGHUP;
  char* end = nullptr;
  long v = std::strtol(n.c_str(), &end, 10);
  if (!n.empty() && *end == '\0' && v > 0 && v < 65) return static_cast<int>(v);
  die("unknown signal " + name);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t events = -1;
  double cpu_ms_per_event = 10;
  std::string output = "toymc.out", summary = "summary.xml", checkpoint, stop_stamp;
  std::int64_t checkpoint_every = 1, fail_after = -1;
  std::vector<int> stop_signals{SIGINT, SIGUSR1, SIGXCPU};
  bool ignore_stop = false;
  int finalise_ms = 0;

  if (const char* e = std::getenv("PILOT_NUMBER_OF_EVENTS")) events = std::atoll(e);
  if (const char* c = std::getenv("PILOT_CHECKPOINT_FILE")) checkpoint = c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--events")
      events = std::atoll(value().c_str());
    else if (a == "--cpu-ms-per-event")
      cpu_ms_per_event = std::atof(value().c_str());
    else if (a == "--output")
      output = value();
    else if (a == "--summary")
      summary = value();
    else if (a == "--checkpoint")
      checkpoint = value();
    else if (a == "--checkpoint-every")
      checkpoint_every = std::max<std::int64_t>(1, std::atoll(value().c_str()));
    else if (a == "--fail-after")
      fail_after = std::atoll(value().c_str());
    else if (a == "--ignore-stop")
      ignore_stop = true;
    else if (a == "--stop-stamp")
      stop_stamp = value();
    else if (a == "--finalise-ms")
      finalise_ms = std::atoi(value().c_str());
    else if (a == "--stop-signals") {
      stop_signals.clear();
      std::string list = value();
      for (std::size_t p = 0; p <= list.size();) {
        auto q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        stop_signals.push_back(signal_number(list.substr(p, q - p)));
        p = q + 1;
      }
    } else
      die("unknown option " + a);
  }
  if (events < 0) die("no number of events (--events or PILOT_NUMBER_OF_EVENTS)");

  for (int sig : stop_signals) {
    struct sigaction sa {};
    sa.sa_handler = ignore_stop ? SIG_IGN : on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }

  int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) die("cannot open " + output + ": " + std::strerror(errno));
  write_file_atomic(summary, summary_xml(false, "initialize", output, 0, "none"));
  std::printf("toymc: generating %lld events, %.1f ms CPU each\n", static_cast<long long>(events),
              cpu_ms_per_event);
  std::fflush(stdout);

  std::int64_t done = 0, synced = -1;
  double synced_cpu_ms = 0;  // CPU time spent when `synced` events were safe (ci/bench's yield)
  auto checkpoint_now = [&] {
    if (::fdatasync(out) != 0) die("cannot sync " + output + ": " + std::strerror(errno));
    if (done != synced) {
      synced = done;
      synced_cpu_ms = cpu_ms();
    }
    char cpu[32];
    std::snprintf(cpu, sizeof cpu, "%.3f", synced_cpu_ms);
    if (!checkpoint.empty())
      write_file_atomic(checkpoint, "events=" + std::to_string(done) + "\noutput=" + output +
                                        "\ncpu_ms=" + cpu + "\n");
  };
  while (done < events && g_stop_signal == 0) {
    double value = simulate_event(done, cpu_ms_per_event);
    char line[96];
    int n = std::snprintf(line, sizeof line, "event %lld %.6f\n", static_cast<long long>(done + 1),
                          value);
    if (::write(out, line, static_cast<std::size_t>(n)) != n)
      die("cannot write " + output + ": " + std::strerror(errno));
    ++done;
    if (done % checkpoint_every == 0) checkpoint_now();
    if (fail_after >= 0 && done >= fail_after) {
      std::fprintf(stderr, "toymc: simulated crash after %lld events\n",
                   static_cast<long long>(done));
      std::abort();
    }
  }
  std::atomic_signal_fence(std::memory_order_acquire);
  if (g_stop_signal != 0 && !stop_stamp.empty())
    write_file_atomic(stop_stamp,
                      std::to_string(static_cast<long long>(g_stop_at.tv_sec) * 1000000000LL +
                                     g_stop_at.tv_nsec) +
                          "\n");
  // Finalisation: what Gaudi does after the last event, also when stopped early.
  checkpoint_now();
  ::close(out);
  if (finalise_ms > 0) {
    timespec ts{finalise_ms / 1000, static_cast<long>(finalise_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  write_file_atomic(summary, summary_xml(true, "finalize", output, done, "full"));
  int sig = g_stop_signal;
  std::printf("toymc: %lld events written to %s%s\n", static_cast<long long>(done), output.c_str(),
              sig ? (std::string(" (stopped by signal ") + std::to_string(sig) + ")").c_str() : "");
  std::fflush(stdout);
  return sig ? 128 + sig : 0;
}
