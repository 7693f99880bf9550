// GraderPool: worker processes forked from a single-threaded zygote, killed and replaced on
// deadline. See grader_pool.h.
#include "scorch/reward/grader_pool.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace scorch::reward {
namespace {

using Clock = std::chrono::steady_clock;

bool WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::read(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

void PutString(std::string* out, std::string_view s) {
  uint32_t len = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&len), 4);
  out->append(s);
}

bool GetString(std::string_view* in, std::string* s) {
  if (in->size() < 4) return false;
  uint32_t len;
  std::memcpy(&len, in->data(), 4);
  in->remove_prefix(4);
  if (in->size() < len) return false;
  s->assign(in->data(), len);
  in->remove_prefix(len);
  return true;
}

bool SendMessage(int fd, const std::string& payload) {
  std::string framed;
  PutString(&framed, payload);
  return WriteAll(fd, framed.data(), framed.size());
}

bool ReceiveMessage(int fd, std::string* payload) {
  uint32_t len;
  if (!ReadAll(fd, reinterpret_cast<char*>(&len), 4)) return false;
  if (len > (256u << 20)) return false;
  payload->resize(len);
  return ReadAll(fd, payload->data(), len);
}

std::string EncodeRequest(const GradeRequest& r) {
  std::string out;
  PutString(&out, r.gold);
  PutString(&out, r.pred);
  out += static_cast<char>((r.pred_is_full_response ? 1 : 0) | (r.gold_is_full_response ? 2 : 0));
  return out;
}

bool DecodeRequest(std::string_view in, GradeRequest* r) {
  if (!GetString(&in, &r->gold) || !GetString(&in, &r->pred) || in.size() != 1) return false;
  r->pred_is_full_response = (in[0] & 1) != 0;
  r->gold_is_full_response = (in[0] & 2) != 0;
  return true;
}

std::string EncodeVerdict(const Verdict& v) {
  std::string out;
  out += static_cast<char>(v.outcome);
  PutString(&out, v.reason);
  PutString(&out, v.detail);
  PutString(&out, v.gold_answer);
  PutString(&out, v.pred_answer);
  PutString(&out, std::to_string(v.micros));
  return out;
}

bool DecodeVerdict(std::string_view in, Verdict* v) {
  if (in.empty()) return false;
  int outcome = in[0];
  if (outcome < 0 || outcome > 2) return false;
  v->outcome = static_cast<Outcome>(outcome);
  in.remove_prefix(1);
  std::string micros;
  if (!GetString(&in, &v->reason) || !GetString(&in, &v->detail) || !GetString(&in, &v->gold_answer) ||
      !GetString(&in, &v->pred_answer) || !GetString(&in, &micros)) {
    return false;
  }
  v->micros = std::atoll(micros.c_str());
  return true;
}

[[noreturn]] void WorkerMain(int fd, const GraderOptions& options) {
  Grader grader(options);
  std::string msg;
  while (ReceiveMessage(fd, &msg)) {
    GradeRequest req;
    Verdict v;
    if (!DecodeRequest(msg, &req)) {
      v.outcome = Outcome::kError;
      v.reason = "invalid_input";
    } else {
      v = grader.Grade(req);
    }
    if (!SendMessage(fd, EncodeVerdict(v))) break;
  }
  ::_exit(0);
}

// Sends/receives one fd plus a pid over a Unix socket.
bool SendFd(int sock, int fd, pid_t pid) {
  char buf[CMSG_SPACE(sizeof(int))];
  std::memset(buf, 0, sizeof(buf));
  struct iovec iov = {&pid, sizeof(pid)};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof(buf);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return ::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(pid));
}

bool ReceiveFd(int sock, int* fd, pid_t* pid) {
  char buf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {pid, sizeof(*pid)};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof(buf);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof(*pid))) return false;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return false;
  std::memcpy(fd, CMSG_DATA(c), sizeof(int));
  return true;
}

[[noreturn]] void ZygoteMain(int ctl, const GraderOptions& options) {
  ::signal(SIGCHLD, SIG_IGN);  // workers are reaped automatically
  char cmd;
  while (ReadAll(ctl, &cmd, 1)) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      pid_t none = -1;
      if (!WriteAll(ctl, reinterpret_cast<const char*>(&none), sizeof(none))) break;
      continue;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(ctl);
      ::close(sv[0]);
      ::signal(SIGCHLD, SIG_DFL);
      WorkerMain(sv[1], options);
    }
    ::close(sv[1]);
    if (pid < 0) {
      ::close(sv[0]);
      continue;
    }
    SendFd(ctl, sv[0], pid);
    ::close(sv[0]);
  }
  ::_exit(0);
}

}  // namespace

struct Worker {
  pid_t pid = -1;
  int fd = -1;
};

class GraderPool::Impl {
 public:
  explicit Impl(GraderPoolOptions options) : options_(std::move(options)) {}

  ~Impl() {
    for (auto& w : all_) Kill(&w);
    if (ctl_ >= 0) ::close(ctl_);
    if (zygote_ > 0) {
      ::kill(zygote_, SIGKILL);
      ::waitpid(zygote_, nullptr, 0);
    }
  }

  Status Start() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return Status::Internal(std::string("socketpair: ") + std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) return Status::Internal(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(sv[0]);
      ZygoteMain(sv[1], options_.grader);
    }
    ::close(sv[1]);
    zygote_ = pid;
    ctl_ = sv[0];
    for (int i = 0; i < options_.num_workers; ++i) {
      Worker w;
      if (!Spawn(&w)) return Status::Internal("could not start a grader worker");
      all_.push_back(w);
      idle_.push_back(w);
    }
    return Status::Ok();
  }

  std::vector<Verdict> GradeBatch(const std::vector<GradeRequest>& requests) {
    std::vector<Verdict> out(requests.size());
    if (requests.empty()) return out;
    std::vector<Worker> mine;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty(); });
      size_t take = std::min(idle_.size(), requests.size());
      for (size_t i = 0; i < take; ++i) {
        mine.push_back(idle_.back());
        idle_.pop_back();
      }
    }
    // Each worker gets up to kPipeline small requests in flight, answered in order; the case at
    // the head of a worker's queue has deadline_ms + kill_grace_ms from the moment the worker
    // could start it. On a kill, the head case is answered error/deadline and the cases queued
    // behind it are sent again (to the replacement or another worker) before the rest.
    constexpr size_t kPipeline = 8;
    constexpr size_t kPipelineMaxBytes = 16 * 1024;
    struct Slot {
      Worker w;
      std::deque<size_t> queue;
      Clock::time_point deadline;
    };
    std::vector<Slot> slots;
    for (auto& w : mine) slots.push_back({w, {}, {}});
    const size_t depth = std::clamp<size_t>(requests.size() / slots.size(), 1, kPipeline);
    std::deque<size_t> pending;
    for (size_t i = 0; i < requests.size(); ++i) pending.push_back(i);
    size_t done = 0;
    const auto budget = std::chrono::milliseconds(options_.grader.deadline_ms + options_.kill_grace_ms);
    auto small = [&](size_t job) {
      return requests[job].gold.size() + requests[job].pred.size() <= kPipelineMaxBytes;
    };
    // Kills the slot's worker: the head case gets `reason`, the rest are re-queued.
    auto fail = [&](Slot& s, const char* reason) {
      if (!s.queue.empty()) {
        Verdict v;
        v.outcome = Outcome::kError;
        v.reason = reason;
        v.detail = "grader worker killed or lost; replaced";
        out[s.queue.front()] = v;
        ++done;
        s.queue.pop_front();
        for (auto it = s.queue.rbegin(); it != s.queue.rend(); ++it) pending.push_front(*it);
        s.queue.clear();
      }
      Replace(&s.w);
    };
    auto fill = [&](Slot& s) {
      while (!pending.empty() && s.queue.size() < depth) {
        size_t job = pending.front();
        if (!s.queue.empty() && (!small(job) || !small(s.queue.back()))) break;
        pending.pop_front();
        if (s.queue.empty()) s.deadline = Clock::now() + budget;
        s.queue.push_back(job);
        if (s.w.fd < 0 || !SendMessage(s.w.fd, EncodeRequest(requests[job]))) {
          fail(s, "worker_crashed");
          return;
        }
      }
    };
    for (auto& s : slots) fill(s);
    while (done < requests.size()) {
      std::vector<pollfd> fds;
      std::vector<size_t> which;
      auto now = Clock::now();
      int timeout_ms = 1000;
      for (size_t i = 0; i < slots.size(); ++i) {
        if (slots[i].queue.empty()) {
          fill(slots[i]);
          if (slots[i].queue.empty()) continue;
        }
        if (now >= slots[i].deadline) {
          fail(slots[i], "deadline");
          fill(slots[i]);
          continue;
        }
        fds.push_back({slots[i].w.fd, POLLIN, 0});
        which.push_back(i);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(slots[i].deadline - now).count() + 1;
        timeout_ms = std::min<int>(timeout_ms, static_cast<int>(left));
      }
      if (fds.empty()) continue;
      int n = ::poll(fds.data(), fds.size(), timeout_ms);
      if (n < 0 && errno != EINTR) break;
      for (size_t k = 0; k < fds.size(); ++k) {
        if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Slot& s = slots[which[k]];
        std::string msg;
        Verdict v;
        if (ReceiveMessage(s.w.fd, &msg) && DecodeVerdict(msg, &v)) {
          out[s.queue.front()] = std::move(v);
          s.queue.pop_front();
          ++done;
          s.deadline = Clock::now() + budget;
        } else {
          fail(s, "worker_crashed");
        }
        fill(s);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& s : slots) idle_.push_back(s.w);
    }
    cv_.notify_all();
    return out;
  }

  int num_workers() const { return options_.num_workers; }
  int64_t replaced() const { return replaced_.load(); }

 private:
  bool Spawn(Worker* w) {
    std::lock_guard<std::mutex> lock(ctl_mu_);
    char cmd = 'S';
    if (!WriteAll(ctl_, &cmd, 1)) return false;
    int fd = -1;
    pid_t pid = -1;
    if (!ReceiveFd(ctl_, &fd, &pid) || pid <= 0) return false;
    w->fd = fd;
    w->pid = pid;
    return true;
  }

  static void Kill(Worker* w) {
    if (w->pid > 0) ::kill(w->pid, SIGKILL);
    if (w->fd >= 0) ::close(w->fd);
    w->pid = -1;
    w->fd = -1;
  }

  void Replace(Worker* w) {
    pid_t old = w->pid;
    Kill(w);
    replaced_.fetch_add(1);
    Worker fresh;
    if (Spawn(&fresh)) *w = fresh;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& a : all_) {
      if (a.pid == old) a = *w;
    }
  }

  GraderPoolOptions options_;
  pid_t zygote_ = -1;
  int ctl_ = -1;
  std::mutex ctl_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Worker> all_;
  std::vector<Worker> idle_;
  std::atomic<int64_t> replaced_{0};
};

StatusOr<std::unique_ptr<GraderPool>> GraderPool::Create(const GraderPoolOptions& options) {
  if (options.num_workers < 1) return Status::InvalidArgument("GraderPool: num_workers must be >= 1");
  auto impl = std::make_unique<Impl>(options);
  SCORCH_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<GraderPool>(new GraderPool(std::move(impl)));
}

GraderPool::GraderPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GraderPool::~GraderPool() = default;

std::vector<Verdict> GraderPool::GradeBatch(const std::vector<GradeRequest>& requests) {
  return impl_->GradeBatch(requests);
}

Verdict GraderPool::Grade(const GradeRequest& request) { return impl_->GradeBatch({request})[0]; }

int GraderPool::num_workers() const { return impl_->num_workers(); }
int64_t GraderPool::workers_replaced() const { return impl_->replaced(); }

}  // namespace scorch::reward
