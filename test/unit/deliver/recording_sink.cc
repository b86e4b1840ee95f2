#include "test/unit/deliver/recording_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace vigil::testing {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads from fd with a bounded wait; false on EOF, error or after ~5 s of silence.
bool readMore(int fd, std::string* buf) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) <= 0) return false;
  char tmp[4096];
  const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf->append(tmp, static_cast<size_t>(n));
  return true;
}

}  // namespace

RecordingSink::RecordingSink() {
  listenFd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listenFd_, 64) != 0) {
    throw std::runtime_error("recording sink cannot listen");
  }
  socklen_t len = sizeof a;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { loop(); });
}

RecordingSink::~RecordingSink() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  shutdown(listenFd_, SHUT_RDWR);
  thread_.join();
  close(listenFd_);
}

std::string RecordingSink::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void RecordingSink::script(std::vector<int> statuses, std::string body) {
  std::lock_guard lock(mu_);
  script_.assign(statuses.begin(), statuses.end());
  scriptBody_ = std::move(body);
}

void RecordingSink::setDefault(int status, std::string body) {
  std::lock_guard lock(mu_);
  defaultStatus_ = status;
  defaultBody_ = std::move(body);
}

std::vector<RecordedRequest> RecordingSink::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool RecordingSink::waitForRequests(size_t n, int timeoutMs) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                      [&] { return requests_.size() >= n; });
}

void RecordingSink::loop() {
  for (;;) {
    pollfd p{listenFd_, POLLIN, 0};
    const int r = poll(&p, 1, 200);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (r <= 0) continue;
    const int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve(fd);
    close(fd);
  }
}

void RecordingSink::serve(int fd) {
  std::string buf;
  size_t headerEnd = std::string::npos;
  while ((headerEnd = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > (1 << 20) || !readMore(fd, &buf)) return;
  }
  RecordedRequest req;
  const std::string head = buf.substr(0, headerEnd);
  size_t lineEnd = head.find("\r\n");
  const std::string requestLine = head.substr(0, lineEnd);
  const size_t sp1 = requestLine.find(' ');
  const size_t sp2 = requestLine.find(' ', sp1 + 1);
  req.method = requestLine.substr(0, sp1);
  req.path = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = lineEnd == std::string::npos ? head.size() : lineEnd + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    const std::string line = head.substr(pos, e - pos);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      req.headers[lower(line.substr(0, colon))] = line.substr(v);
    }
    pos = e + 2;
  }
  const size_t contentLength =
      req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
  req.body = buf.substr(headerEnd + 4);
  while (req.body.size() < contentLength) {
    if (!readMore(fd, &req.body)) return;
  }
  int status;
  std::string body;
  {
    std::lock_guard lock(mu_);
    if (!script_.empty()) {
      status = script_.front();
      script_.pop_front();
      body = scriptBody_;
    } else {
      status = defaultStatus_;
      body = defaultBody_;
    }
    requests_.push_back(std::move(req));
  }
  cv_.notify_all();
  const std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t off = 0;
  while (off < resp.size()) {
    const ssize_t n = ::send(fd, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace vigil::testing
