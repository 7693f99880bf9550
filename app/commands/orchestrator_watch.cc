#include "orchestrator_watch.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "scorch/common/logging.h"

namespace scorch::app {

bool PortOpens(const std::string& endpoint, std::chrono::milliseconds timeout) {
  const std::string prefix = "tcp://";
  if (endpoint.rfind(prefix, 0) != 0) return false;
  const std::string rest = endpoint.substr(prefix.size());
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) return false;
  bool open = false;
  for (addrinfo* a = found; a != nullptr && !open; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      open = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        open = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return open;
}

OrchestratorWatch::OrchestratorWatch(std::string endpoint, std::string who, std::chrono::milliseconds interval,
                                     int misses) {
  if (endpoint.rfind("tcp://", 0) != 0) return;
  thread_ = std::thread([this, endpoint = std::move(endpoint), who = std::move(who), interval, misses] {
    int missed = 0;
    const auto start = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      missed = PortOpens(endpoint, interval) ? 0 : missed + 1;
      if (missed >= misses) {
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
        SCORCH_LOG(ERROR) << "the orchestrator at " << endpoint << " has been unreachable for " << misses
                          << " probes in a row (" << waited.count() << " s since this watch began): it is gone, so "
                          << who << " ends (exit 3)";
        std::fflush(nullptr);
        ::_exit(3);
      }
      for (int i = 0; i < 20 && !stop_.load(); ++i) std::this_thread::sleep_for(interval / 20);
    }
  });
}

OrchestratorWatch::~OrchestratorWatch() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace scorch::app
