#pragma once
// The probe loop: one thread, one epoll set, one curl multi handle. HTTP transfers of every probe
// run here concurrently, driven by curl's socket callbacks, so one slow or hostile target costs a
// socket and a timer, never a thread. Other probe kinds (SSH) can watch their own file
// descriptors on the same loop. Other threads talk to the loop only through post().

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <vector>

#include "agent/core/clock.h"

namespace vigil {

/// Not thread-safe except for post() and stop(), which any thread may call.
class EventLoop {
 public:
  using Task = std::function<void()>;
  using TransferDone = std::function<void(CURLcode)>;
  using FdCallback = std::function<void(uint32_t epollEvents)>;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs until stop(); call from the loop's own thread.
  void run();
  /// Asks run() to return after the current iteration. Thread-safe.
  void stop();
  /// Runs `task` on the loop thread soon. Thread-safe.
  void post(Task task);

  /// Starts a transfer on the shared multi handle; `done` runs on the loop when it ends.
  /// The loop does not own `easy`; keep it alive until `done` runs.
  void addTransfer(CURL* easy, TransferDone done);
  /// Aborts a running transfer without calling its callback.
  void cancelTransfer(CURL* easy);

  /// Calls `cb` at (or after) monotonic time `dueMs` (see monotonicMs()).
  TimerId addTimer(int64_t dueMs, Task cb);
  void cancelTimer(TimerId id);

  /// Watches a file descriptor (EPOLLIN/EPOLLOUT...); replaces an earlier watch of the same fd.
  void watchFd(int fd, uint32_t events, FdCallback cb);
  void unwatchFd(int fd);

  /// Transfers currently running.
  size_t transfersInFlight() const { return transfers_.size(); }

  /// Milliseconds on the monotonic clock: scheduling and deadlines never jump with wall time.
  static int64_t monotonicMs();

 private:
  static int onCurlSocket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int onCurlTimer(CURLM* multi, long timeoutMs, void* userp);
  void drainCurlMessages();
  void runTimers();
  void runPosted();
  int64_t nextWaitMs() const;

  struct Timer {
    int64_t due;
    TimerId id;
    bool operator>(const Timer& o) const { return due != o.due ? due > o.due : id > o.id; }
  };

  int epfd_ = -1;
  int wakefd_ = -1;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  int64_t curlTimeoutDue_ = -1;  // -1: curl wants no timeout callback
  bool stopping_ = false;
  std::unordered_map<CURL*, TransferDone> transfers_;
  std::unordered_map<int, FdCallback> fdWatches_;
  std::unordered_map<int, int> curlSockets_;  // fd -> CURL_POLL_* curl asked for
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timerHeap_;
  std::unordered_map<TimerId, Task> timers_;
  TimerId nextTimerId_ = 1;
  std::mutex postMu_;
  std::vector<Task> posted_;
};

}  // namespace vigil
