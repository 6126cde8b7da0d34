#pragma once
// A loopback port for a daemon a test starts (node_exporter, Prometheus, RabbitMQ).

namespace pilot::test {

// A port nothing listens on now on 127.0.0.1; another process may take it before the daemon
// does, so a caller that cannot bind retries with another. Throws pilot::Error when the system
// gives none.
int free_port();

}  // namespace pilot::test
