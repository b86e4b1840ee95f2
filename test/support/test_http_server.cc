#include "test/support/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace vigil::testing {

namespace {

int listenOn(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0) {
    throw std::runtime_error("test server cannot listen");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

bool sendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string response(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

}  // namespace

int closedPort() {
  int port = 0;
  int fd = listenOn(&port);
  close(fd);
  return port;
}

TestHttpServer::TestHttpServer() {
  listenFd_ = listenOn(&port_);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TestHttpServer::~TestHttpServer() {
  stopping_ = true;
  shutdown(listenFd_, SHUT_RDWR);
  close(listenFd_);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : openFds_) shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
}

void TestHttpServer::setFixture(std::string body) {
  std::lock_guard lock(mu_);
  fixture_ = std::move(body);
}

std::string TestHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void TestHttpServer::acceptLoop() {
  while (!stopping_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    openFds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestHttpServer::serve(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
    if (req[0] < 'A' || req[0] > 'Z') break;  // not HTTP (e.g. a TLS ClientHello)
  }
  if (!req.empty() && (req[0] < 'A' || req[0] > 'Z')) {
    sendAll(fd, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    std::lock_guard lock(mu_);
    std::erase(openFds_, fd);
    close(fd);
    return;
  }
  ++requests_;
  const auto sp1 = req.find(' ');
  const auto sp2 = req.find(' ', sp1 + 1);
  const std::string path = sp1 == std::string::npos ? "/" : req.substr(sp1 + 1, sp2 - sp1 - 1);
  auto arg = [&path](const char* prefix) { return std::stol(path.substr(std::strlen(prefix))); };
  auto sleepMs = [this](long ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };

  if (path == "/ok") {
    sendAll(fd, response(200, "<title>ok</title>"));
  } else if (path == "/fixture") {
    std::string body;
    {
      std::lock_guard lock(mu_);
      body = fixture_;
    }
    sendAll(fd, response(200, body, "Content-Type: text/plain; version=0.0.4\r\n"));
  } else if (path.starts_with("/status/")) {
    sendAll(fd, response(static_cast<int>(arg("/status/")), "status"));
  } else if (path.starts_with("/sleep/")) {
    sleepMs(arg("/sleep/"));
    sendAll(fd, response(200, "late"));
  } else if (path == "/reset") {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  } else if (path == "/close") {
    // nothing: close below
  } else if (path.starts_with("/big/")) {
    sendAll(fd, response(200, std::string(static_cast<size_t>(arg("/big/")), 'x')));
  } else if (path.starts_with("/redirect/")) {
    long n = arg("/redirect/");
    if (n <= 0) {
      sendAll(fd, response(200, "done"));
    } else {
      sendAll(fd, response(302, "", "Location: /redirect/" + std::to_string(n - 1) + "\r\n"));
    }
  } else if (path.starts_with("/headers/")) {
    std::string extra;
    const long want = arg("/headers/");
    for (long i = 0; static_cast<long>(extra.size()) < want; ++i) {
      extra += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'y') + "\r\n";
    }
    sendAll(fd, response(200, "ok", extra));
  } else if (path == "/endless") {
    sendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "1000\r\n" + std::string(0x1000, 'z') + "\r\n";
    while (!stopping_ && sendAll(fd, chunk)) {
    }
  } else if (path == "/trickle") {
    const std::string head = "HTTP/1.1 200 OK\r\nX-Slow: " + std::string(10000, 's');
    for (char c : head) {
      if (stopping_ || !sendAll(fd, std::string(1, c))) break;
      sleepMs(100);
    }
  } else {
    sendAll(fd, response(404, "not found"));
  }
  {
    std::lock_guard lock(mu_);
    std::erase(openFds_, fd);
  }
  close(fd);
}

}  // namespace vigil::testing
