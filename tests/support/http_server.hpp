#pragma once
// A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) running in a thread, for tests of code
// that fetches over HTTP: each path answers with a fixed status and body, optionally after a
// delay (to provoke timeouts). Connections are closed after each reply.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pilot::test {

struct Reply {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};
  std::string content_type = "text/plain";
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void set(const std::string& path, Reply reply);
  void remove(const std::string& path);
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  // Request lines received so far ("GET /x"), and the last request body.
  std::vector<std::string> requests() const;
  std::string last_body() const;

 private:
  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, Reply> replies_;
  std::vector<std::string> requests_;
  std::string last_body_;
  std::thread thread_;
};

}  // namespace pilot::test
