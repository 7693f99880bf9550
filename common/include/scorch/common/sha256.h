// SHA-256 (FIPS 180-4), for checkpoint manifests: streaming and one-shot. Not constant-time;
// used for integrity, not secrets. Thread-compatible (one hasher per thread).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "scorch/common/status.h"

namespace scorch {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  std::array<uint8_t, 32> Finish();
  // Lower-case hex digest.
  std::string HexFinish();

 private:
  void Block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string Sha256Hex(std::string_view data);
// Streams a file through SHA-256. NotFound / IoError on failure.
StatusOr<std::string> Sha256File(const std::filesystem::path& path);

}  // namespace scorch
