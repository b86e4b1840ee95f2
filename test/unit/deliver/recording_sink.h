#pragma once
// An in-process HTTP/1.1 sink on 127.0.0.1 for delivery tests: it records every request
// (method, path, headers, body) and answers a scripted sequence of statuses, then a default.
// One connection at a time, Connection: close. Not for production.

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vigil::testing {

struct RecordedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? "" : it->second;
  }
};

class RecordingSink {
 public:
  RecordingSink();
  ~RecordingSink();
  RecordingSink(const RecordingSink&) = delete;
  RecordingSink& operator=(const RecordingSink&) = delete;

  /// "http://127.0.0.1:PORT" + path
  std::string url(const std::string& path = "/hook") const;
  /// The next requests are answered with these statuses in order (each with `body`), then
  /// with the default status. Thread-safe.
  void script(std::vector<int> statuses, std::string body = "");
  void setDefault(int status, std::string body = "");
  /// Every request received so far. Thread-safe.
  std::vector<RecordedRequest> requests() const;
  /// Waits (at most `timeoutMs` of real time) until at least `n` requests arrived.
  bool waitForRequests(size_t n, int timeoutMs = 10'000) const;

 private:
  void loop();
  void serve(int fd);

  int listenFd_ = -1;
  int port_ = 0;
  bool stopping_ = false;  // guarded by mu_
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<int> script_;
  std::string scriptBody_;
  int defaultStatus_ = 200;
  std::string defaultBody_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace vigil::testing
