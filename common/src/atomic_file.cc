#include "scorch/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

namespace scorch {
namespace {

std::mutex g_hook_mu;
std::function<void(AtomicWritePoint)> g_hook;  // GUARDED_BY(g_hook_mu)

void RunHook(AtomicWritePoint point) {
  std::function<void(AtomicWritePoint)> hook;
  {
    std::lock_guard<std::mutex> lock(g_hook_mu);
    hook = g_hook;
  }
  if (hook) hook(point);
}

Status Errno(const std::string& what, const std::filesystem::path& path) {
  return Status::IoError(what + " " + path.string() + ": " + std::strerror(errno));
}

std::string TempName(const std::filesystem::path& path) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::ostringstream name;
  name << path.filename().string() << ".tmp." << getpid() << "." << counter++ << "."
       << std::hex << (rng() & 0xffffff);
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  return (dir / name.str()).string();
}

}  // namespace

Status FsyncPath(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open for fsync", path);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return Errno("fsync", path);
  return Status::Ok();
}

Status AtomicWriteFile(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const std::string tmp = TempName(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Errno("fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::close(fd) != 0) {
    Status s = Errno("close", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  RunHook(AtomicWritePoint::kTempWritten);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("rename " + tmp + " to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  RunHook(AtomicWritePoint::kRenamed);
  return FsyncPath(dir);
}

StatusOr<std::string> ReadFileToString(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return Status::NotFound("no such file: " + path.string());
    return Status::IoError("cannot read " + path.string());
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::IoError("error reading " + path.string());
  return buf.str();
}

int RemoveStaleTempFiles(const std::filesystem::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos && entry.is_regular_file(ec)) {
      if (std::filesystem::remove(entry.path(), ec)) ++removed;
    }
  }
  return removed;
}

void TEST_SetAtomicWriteHook(std::function<void(AtomicWritePoint)> hook) {
  std::lock_guard<std::mutex> lock(g_hook_mu);
  g_hook = std::move(hook);
}

}  // namespace scorch
