#include "http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstring>
#include <stdexcept>

namespace pilot::test {
namespace {

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    default:
      return "Status";
  }
}

void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

HttpServer::HttpServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("test HTTP server: ") + std::strerror(errno));
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

HttpServer::~HttpServer() {
  stop_ = true;
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void HttpServer::set(const std::string& path, Reply reply) {
  std::lock_guard lock(mu_);
  replies_[path] = std::move(reply);
}

void HttpServer::remove(const std::string& path) {
  std::lock_guard lock(mu_);
  replies_.erase(path);
}

std::string HttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<std::string> HttpServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::string HttpServer::last_body() const {
  std::lock_guard lock(mu_);
  return last_body_;
}

void HttpServer::serve() {
  while (!stop_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) <= 0) continue;
    if (fds[1].revents) break;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void HttpServer::handle(int fd) {
  std::string in;
  char buf[4096];
  std::size_t header_end = std::string::npos;
  while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    in.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t content_length = 0;
  auto cl = in.find("Content-Length: ");
  if (cl == std::string::npos) cl = in.find("content-length: ");
  if (cl != std::string::npos && cl < header_end) content_length = std::stoul(in.substr(cl + 16));
  while (in.size() < header_end + 4 + content_length) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  std::string line = in.substr(0, in.find("\r\n"));
  std::string method = line.substr(0, line.find(' '));
  std::string path = line.substr(method.size() + 1);
  path = path.substr(0, path.find(' '));
  Reply reply{404, "no such path\n", {}, "text/plain"};
  {
    std::lock_guard lock(mu_);
    requests_.push_back(method + " " + path);
    last_body_ = in.substr(header_end + 4);
    if (auto it = replies_.find(path); it != replies_.end()) reply = it->second;
  }
  if (reply.delay.count() > 0) {
    // Wait, but give up early when the server is being destroyed.
    pollfd w{wake_[0], POLLIN, 0};
    ::poll(&w, 1, static_cast<int>(reply.delay.count()));
    if (stop_) return;
  }
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) +
                    "\r\nContent-Type: " + reply.content_type +
                    "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                    "\r\nConnection: close\r\n\r\n" + reply.body;
  send_all(fd, out);
}

}  // namespace pilot::test
