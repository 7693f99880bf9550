// Reading (memory-mapped) and writing of the safetensors format used by Hugging Face
// checkpoints: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the raw little-endian tensor bytes (offsets relative to the end of the header).
//
// Files are untrusted: every field is type-checked and every offset bounds-checked before a
// byte of tensor data is touched; the header is capped at 100 MiB; byte ranges must match
// shape x dtype size exactly and may not overlap. A bad file yields a Status, never a crash:
// DataLoss for truncated/corrupt files (header length beyond the file, offsets past the end,
// size mismatch, overlap), InvalidArgument for bad header JSON or fields, Unimplemented for a
// dtype LibTorch cannot hold (F8_*, U16/U32/U64; known sizes, so the file still opens and only
// reading that tensor fails), NotFound for an absent tensor, IoError from the OS.
//
// Dtypes read: BOOL U8 I8 I16 I32 I64 F16 BF16 F32 F64. View() and Load() return the stored
// dtype; conversion (e.g. BF16 -> F32) is the caller's (checkpoint.h converts on load).
//
// Ownership/thread-safety: a SafetensorsFile owns its mapping (MAP_PRIVATE, so a stray
// write to a view never reaches the file); views must not outlive it. Const methods may be
// called from several threads.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::model {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;               // safetensors name, e.g. "BF16"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;     // byte range relative to the data section
  bool supported = false;          // LibTorch has this dtype
  torch::Dtype torch_dtype = torch::kFloat32;  // valid when supported
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;           // in data-offset order
  std::map<std::string, std::string> metadata;     // "__metadata__" (string values only)
  uint64_t data_offset = 0;                        // 8 + N: where tensor bytes start
};

// Parses and validates the header of a whole file held in memory ([data, data + size)).
StatusOr<SafetensorsHeader> ParseSafetensorsHeader(const uint8_t* data, uint64_t size);

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates its header.
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return size_; }
  const SafetensorsHeader& header() const { return header_; }
  // nullptr if absent.
  const SafetensorsEntry* Find(const std::string& name) const;

  // A CPU tensor over the mapped bytes (no copy when suitably aligned); valid while this
  // object lives. NotFound / Unimplemented (dtype).
  StatusOr<torch::Tensor> View(const std::string& name) const;
  // An owned copy (safe to keep after the file is closed).
  StatusOr<torch::Tensor> Load(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  SafetensorsHeader header_;
  std::map<std::string, size_t> index_;  // name -> entries index
};

// Writes `tensors` (any device/layout; stored contiguous, in their own dtype, in the given
// order) to `path` atomically (temporary file + rename). Names must be unique and non-empty;
// dtypes must be one of the readable ones. InvalidArgument / IoError.
Status WriteSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

// "F32" for torch::kFloat32 etc.; "" for a dtype safetensors cannot name.
std::string SafetensorsDtypeName(torch::Dtype dtype);

}  // namespace scorch::model
