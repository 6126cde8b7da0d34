#pragma once
// A private RabbitMQ broker with its STOMP plugin for the tests, on loopback: Debian's
// rabbitmq-server run in the foreground in a process group of its own, its node name, ports,
// data and logs all its own (a temporary directory), so it shares nothing with a system broker
// or another test. Killed with its group when the object goes.

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "monitor/stomp_client.hpp"

namespace pilot::test {

class RabbitBroker {
 public:
  // Starts it and waits (up to 60 s) until a STOMP CONNECT succeeds. `tls`: a TLS listener too,
  // with make-test-pki.sh's host certificate (pki_dir()). Throws pilot::Error with the broker's
  // output when it does not come up; FAILs the test when rabbitmq-server is not installed.
  explicit RabbitBroker(bool tls = false);
  ~RabbitBroker();
  RabbitBroker(const RabbitBroker&) = delete;
  RabbitBroker& operator=(const RabbitBroker&) = delete;

  // SIGKILL to the whole group, as a crash would, and reaped.
  void kill_hard();
  // Starts it again on the same ports and data (after kill_hard) and waits as the constructor.
  void start();

  // Plain-TCP settings with the broker's user; `tls`: the TLS port, verified with the test CA.
  monitor::StompSettings settings(bool tls = false) const;
  const std::filesystem::path& pki_dir() const { return pki_; }
  std::string log() const;

 private:
  void write_config(bool tls);
  void wait_until_ready();

  std::filesystem::path dir_, pki_;
  std::string node_;
  int amqp_port_ = 0, dist_port_ = 0, stomp_port_ = 0, stomp_tls_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace pilot::test
