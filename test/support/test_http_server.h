#pragma once
// A small HTTP/1.1 server on 127.0.0.1 for unit tests of the HTTP probe: it misbehaves on
// demand, by path. Not for production; one thread per connection.
//
//   /ok               200, body "<title>ok</title>"
//   /status/N         status N
//   /sleep/MS         waits MS before answering 200
//   /reset            accepts, then closes with RST
//   /close            closes without answering
//   /big/N            200 with an N-byte body
//   /redirect/N       302 to /redirect/N-1; /redirect/0 answers 200
//   /headers/N        200 with about N bytes of headers
//   /endless          200 with a chunked body that never ends
//   /trickle          sends one header byte every 100 ms, forever
//   /fixture          200 with the body given to setFixture() (empty until then)

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vigil::testing {

class TestHttpServer {
 public:
  TestHttpServer();
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT" + path
  std::string url(const std::string& path) const;
  /// What /fixture serves from now on (e.g. exposition text for the node_exporter probe).
  /// Thread-safe.
  void setFixture(std::string body);
  /// Requests received so far.
  int requests() const { return requests_.load(); }

 private:
  void acceptLoop();
  void serve(int fd);

  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::string fixture_;  // guarded by mu_
  std::vector<std::thread> workers_;
  std::vector<int> openFds_;
};

/// A port on 127.0.0.1 with nothing listening (bound, then closed).
int closedPort();

}  // namespace vigil::testing
