#include "agent/scheduler/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "agent/core/log.h"

namespace vigil {

namespace {
constexpr int kMaxEvents = 256;
}

int64_t EventLoop::monotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

EventLoop::EventLoop() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) throw std::runtime_error("cannot create the probe loop's epoll");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);

  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &EventLoop::onCurlSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &EventLoop::onCurlTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // Probes open a fresh connection each time; nothing is gained from a connection cache.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 0L);

  // One DNS cache for every probe: a target probed every few seconds is not re-resolved each time
  // (curl keeps entries 60 s), which saves a resolver thread per probe.
  share_ = curl_share_init();
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
}

EventLoop::~EventLoop() {
  for (auto& [easy, done] : transfers_) curl_multi_remove_handle(multi_, easy);
  transfers_.clear();
  curl_multi_cleanup(multi_);
  curl_share_cleanup(share_);
  close(wakefd_);
  close(epfd_);
}

void EventLoop::stop() {
  post([this] { stopping_ = true; });
}

void EventLoop::post(Task task) {
  {
    std::lock_guard lock(postMu_);
    posted_.push_back(std::move(task));
  }
  uint64_t one = 1;
  ssize_t n = ::write(wakefd_, &one, sizeof one);
  (void)n;
}

void EventLoop::addTransfer(CURL* easy, TransferDone done) {
  curl_easy_setopt(easy, CURLOPT_SHARE, share_);
  transfers_[easy] = std::move(done);
  CURLMcode rc = curl_multi_add_handle(multi_, easy);
  if (rc != CURLM_OK) {
    auto cb = std::move(transfers_[easy]);
    transfers_.erase(easy);
    LOG_ERROR("cannot start transfer", {"err", curl_multi_strerror(rc)});
    cb(CURLE_FAILED_INIT);
  }
}

void EventLoop::cancelTransfer(CURL* easy) {
  if (transfers_.erase(easy) > 0) curl_multi_remove_handle(multi_, easy);
}

EventLoop::TimerId EventLoop::addTimer(int64_t dueMs, Task cb) {
  TimerId id = nextTimerId_++;
  timers_.emplace(id, std::move(cb));
  timerHeap_.push(Timer{dueMs, id});
  return id;
}

void EventLoop::cancelTimer(TimerId id) { timers_.erase(id); }

void EventLoop::watchFd(int fd, uint32_t events, FdCallback cb) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  bool existed = fdWatches_.count(fd) > 0;
  fdWatches_[fd] = std::move(cb);
  if (epoll_ctl(epfd_, existed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0 && !existed) {
    epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  }
}

void EventLoop::unwatchFd(int fd) {
  if (fdWatches_.erase(fd) > 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

int EventLoop::onCurlSocket(CURL* /*easy*/, curl_socket_t s, int what, void* userp,
                            void* /*socketp*/) {
  auto* self = static_cast<EventLoop*>(userp);
  if (what == CURL_POLL_REMOVE) {
    if (self->curlSockets_.erase(s) > 0) epoll_ctl(self->epfd_, EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  ev.data.fd = s;
  auto [it, inserted] = self->curlSockets_.try_emplace(s, what);
  it->second = what;
  if (epoll_ctl(self->epfd_, inserted ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev) != 0) {
    // curl may reuse a descriptor number it closed without telling us: try the other op.
    epoll_ctl(self->epfd_, inserted ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev);
  }
  return 0;
}

int EventLoop::onCurlTimer(CURLM* /*multi*/, long timeoutMs, void* userp) {
  auto* self = static_cast<EventLoop*>(userp);
  self->curlTimeoutDue_ = timeoutMs < 0 ? -1 : monotonicMs() + timeoutMs;
  return 0;
}

void EventLoop::drainCurlMessages() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    curl_multi_remove_handle(multi_, easy);
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) continue;
    TransferDone done = std::move(it->second);
    transfers_.erase(it);
    done(result);
  }
}

void EventLoop::runTimers() {
  const int64_t now = monotonicMs();
  while (!timerHeap_.empty() && timerHeap_.top().due <= now) {
    Timer t = timerHeap_.top();
    timerHeap_.pop();
    auto it = timers_.find(t.id);
    if (it == timers_.end()) continue;  // cancelled
    Task cb = std::move(it->second);
    timers_.erase(it);
    cb();
  }
}

void EventLoop::runPosted() {
  std::vector<Task> tasks;
  {
    std::lock_guard lock(postMu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

int64_t EventLoop::nextWaitMs() const {
  const int64_t now = monotonicMs();
  int64_t wait = 1000;  // wake at least once a second even when idle
  // Skip cancelled timers lazily: they only make the loop wake early.
  if (!timerHeap_.empty()) wait = std::min(wait, timerHeap_.top().due - now);
  if (curlTimeoutDue_ >= 0) wait = std::min(wait, curlTimeoutDue_ - now);
  return std::max<int64_t>(wait, 0);
}

void EventLoop::run() {
  epoll_event events[kMaxEvents];
  int running = 0;
  while (!stopping_) {
    int n = epoll_wait(epfd_, events, kMaxEvents, static_cast<int>(nextWaitMs()));
    if (n < 0 && errno != EINTR) {
      LOG_ERROR("epoll_wait failed", {"errno", std::to_string(errno)});
      break;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      const uint32_t ev = events[i].events;
      if (fd == wakefd_) {
        uint64_t v;
        ssize_t r = ::read(wakefd_, &v, sizeof v);
        (void)r;
        continue;
      }
      if (curlSockets_.count(fd)) {
        int mask = (ev & EPOLLIN ? CURL_CSELECT_IN : 0) | (ev & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (ev & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi_, fd, mask, &running);
        continue;
      }
      if (auto it = fdWatches_.find(fd); it != fdWatches_.end()) {
        FdCallback cb = it->second;  // copy: the callback may unwatch itself
        cb(ev);
      }
    }
    if (curlTimeoutDue_ >= 0 && monotonicMs() >= curlTimeoutDue_) {
      curlTimeoutDue_ = -1;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    drainCurlMessages();
    runPosted();
    runTimers();
    drainCurlMessages();
  }
}

}  // namespace vigil
