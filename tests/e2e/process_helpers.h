// Helpers for end-to-end tests that drive the real `scorch` binary as child processes:
// spawn it with output to a file, wait for it with a bound, read files, poll a log.
//
// Needs SCORCH_BINARY (the binary's path) and SCORCH_SOURCE_DIR (the repository root, where
// children run, since job files name models relative to it), both set by tests/e2e/CMakeLists.
// Header-only; not thread-safe beyond what fork/waitpid are.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace scorch::e2e {

// A loopback TCP port free right now (the kernel's pick for port 0). Another process could
// take it before scorch binds; the job then fails to bind and the test says so.
inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Starts `program` (a path, or a name looked up in PATH) with `args` from the repository root;
// stdout and stderr go to `log`.
inline pid_t SpawnProgram(const std::string& program, const std::vector<std::string>& args,
                          const std::filesystem::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(SCORCH_SOURCE_DIR) != 0) _exit(126);
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), fileno(stderr));
    std::vector<char*> argv;
    std::string bin = program;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Starts the scorch binary with `args` from the repository root; stdout and stderr go to `log`.
inline pid_t Spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
  return SpawnProgram(SCORCH_BINARY, args, log);
}

// Exit code of `pid` (128 + signal when killed), or -1 after `limit` (the child is then killed).
inline int Wait(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Polls `log` until it contains `needle` or `limit` passes.
inline bool WaitForLine(const std::filesystem::path& log, const std::string& needle, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Slurp(log).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace scorch::e2e
