#include "rabbitmq_broker.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "ports.hpp"

extern char** environ;

namespace pilot::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The wrapper in /usr/sbin switches to the rabbitmq user and the system's directories; the
// script behind it runs the broker as we configure it.
const char* const kServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const char* const kUser = "pilot";
const char* const kPassword = "s3cret";

fs::path make_pki(const fs::path& dir) {
  CommandOptions o;
  o.timeout = std::chrono::seconds(60);
  o.merge_stderr = true;
  auto script = fs::path(PILOT_SOURCE_DIR) / "tests/fake_dirac/make-test-pki.sh";
  auto r = run_command({"bash", script.string(), dir.string()}, o);
  if (!r || r->exit_code != 0)
    throw Error("make-test-pki.sh failed: " + (r ? r->out : std::string("bash not found")));
  return dir;
}

}  // namespace

RabbitBroker::RabbitBroker(bool tls) {
  if (::access(kServer, X_OK) != 0)
    FAIL(kServer << " is missing: install Debian's rabbitmq-server package (ci/setup does)");
  char tmpl[] = "/tmp/pilot-rabbitmq.XXXXXX";
  if (!::mkdtemp(tmpl)) throw_errno("cannot create a directory for the broker", errno);
  dir_ = tmpl;
  node_ = "pilottest" + std::to_string(::getpid()) + "@localhost";
  amqp_port_ = free_port();
  dist_port_ = free_port();
  stomp_port_ = free_port();
  if (tls) {
    stomp_tls_port_ = free_port();
    pki_ = make_pki(dir_ / "pki");
  }
  write_config(tls);
  try {
    start();
  } catch (const std::exception&) {
    // The destructor does not run for an object whose constructor threw.
    kill_hard();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

RabbitBroker::~RabbitBroker() {
  kill_hard();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void RabbitBroker::write_config(bool tls) {
  std::string conf = "listeners.tcp.1 = 127.0.0.1:" + std::to_string(amqp_port_) + "\n" +
                     "stomp.listeners.tcp.1 = 127.0.0.1:" + std::to_string(stomp_port_) + "\n" +
                     "default_user = " + kUser + "\ndefault_pass = " + kPassword + "\n" +
                     "loopback_users = none\nlog.console = true\nlog.file = false\n";
  if (tls)
    conf += "stomp.listeners.ssl.1 = 127.0.0.1:" + std::to_string(stomp_tls_port_) + "\n" +
            "ssl_options.cacertfile = " + (pki_ / "ca.pem").string() + "\n" +
            "ssl_options.certfile = " + (pki_ / "hostcert.pem").string() + "\n" +
            "ssl_options.keyfile = " + (pki_ / "hostkey.pem").string() + "\n" +
            "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n";
  replace_file(dir_ / "rabbitmq.conf", conf);
  replace_file(dir_ / "enabled_plugins", "[rabbitmq_stomp].\n");
}

void RabbitBroker::start() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "RABBITMQ_", 9) != 0 && std::strncmp(*e, "HOME=", 5) != 0)
      env.emplace_back(*e);
  auto set = [&](const std::string& k, const std::string& v) { env.push_back(k + "=" + v); };
  set("HOME", dir_.string());  // the Erlang cookie
  set("RABBITMQ_NODENAME", node_);
  set("RABBITMQ_NODE_PORT", std::to_string(amqp_port_));
  set("RABBITMQ_DIST_PORT", std::to_string(dist_port_));
  set("RABBITMQ_MNESIA_BASE", (dir_ / "mnesia").string());
  set("RABBITMQ_LOG_BASE", (dir_ / "log").string());
  set("RABBITMQ_CONFIG_FILE", (dir_ / "rabbitmq.conf").string());
  set("RABBITMQ_ENABLED_PLUGINS_FILE", (dir_ / "enabled_plugins").string());
  set("RABBITMQ_PID_FILE", (dir_ / "rabbitmq.pid").string());
  set("ERL_CRASH_DUMP", (dir_ / "erl_crash.dump").string());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = kServer;
  char* argv[] = {exe.data(), nullptr};

  auto log = (dir_ / "broker.log").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, dir_.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  int rc = posix_spawn(&pid_, kServer, &fa, &attr, argv, envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw Error(std::string("cannot start ") + kServer + ": " + std::strerror(rc));
  wait_until_ready();
}

void RabbitBroker::wait_until_ready() {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      throw Error("rabbitmq-server exited at start-up:\n" + this->log());
    }
    try {
      monitor::StompClient probe(settings(), 2s);
      probe.disconnect(std::chrono::steady_clock::now() + 2s);
      return;
    } catch (const monitor::StompError& e) {
      last = e.what();  // not up yet: the listener opens seconds after the process starts
    }
    std::this_thread::sleep_for(200ms);
  }
  throw Error("rabbitmq-server did not accept a STOMP CONNECT within 60 s (" + last + "):\n" +
              log());
}

void RabbitBroker::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

monitor::StompSettings RabbitBroker::settings(bool tls) const {
  monitor::StompSettings s;
  s.host = tls ? "localhost" : "127.0.0.1";
  s.port = tls ? stomp_tls_port_ : stomp_port_;
  s.tls = tls;
  if (tls) s.ca_dir = pki_ / "certificates";
  s.login = kUser;
  s.passcode = kPassword;
  s.vhost = "/";
  s.connect_timeout_s = 5;
  s.heartbeat_ms = 2000;
  return s;
}

std::string RabbitBroker::log() const {
  auto text = read_file(dir_ / "broker.log").value_or("(no output)");
  return text.size() > 6000 ? text.substr(text.size() - 6000) : text;
}

}  // namespace pilot::test
