// safetensors reader (mmap, fully bounds-checked) and writer (see safetensors.h).
#include "scorch/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace scorch::model {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // as the reference implementation
constexpr uint64_t kMaxDim = 1ull << 48;
constexpr int kMaxHeaderDepth = 4;  // {"t": {"shape": [..]}} needs 3

struct DtypeInfo {
  const char* name;
  uint64_t size;
  bool supported;
  torch::Dtype dtype;
};

constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 1, true, torch::kBool},          {"U8", 1, true, torch::kUInt8},
    {"I8", 1, true, torch::kInt8},            {"I16", 2, true, torch::kInt16},
    {"I32", 4, true, torch::kInt32},          {"I64", 8, true, torch::kInt64},
    {"F16", 2, true, torch::kFloat16},        {"BF16", 2, true, torch::kBFloat16},
    {"F32", 4, true, torch::kFloat32},        {"F64", 8, true, torch::kFloat64},
    {"F8_E4M3", 1, false, torch::kUInt8},     {"F8_E5M2", 1, false, torch::kUInt8},
    {"U16", 2, false, torch::kInt16},         {"U32", 4, false, torch::kInt32},
    {"U64", 8, false, torch::kInt64},
};

const DtypeInfo* FindDtype(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

StatusOr<uint64_t> NonNegativeInt(const json& v, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    int64_t x = v.get<int64_t>();
    if (x >= 0) return static_cast<uint64_t>(x);
  }
  return Status::InvalidArgument(what + " must be a non-negative integer, got " + v.dump());
}

// Rejects nesting deeper than any valid header needs before handing the bytes to the JSON
// parser, so a pathological header cannot exhaust the stack anywhere.
Status CheckDepth(const char* p, uint64_t n) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (uint64_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxHeaderDepth) return Status::InvalidArgument("safetensors header JSON is nested too deeply");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return Status::Ok();
}

StatusOr<SafetensorsEntry> ParseEntry(const std::string& name, const json& v, uint64_t data_size) {
  const std::string ctx = "tensor '" + name + "'";
  if (!v.is_object()) return Status::InvalidArgument(ctx + ": header entry must be an object");
  auto dt = v.find("dtype");
  auto sh = v.find("shape");
  auto off = v.find("data_offsets");
  if (dt == v.end() || !dt->is_string()) return Status::InvalidArgument(ctx + ": missing or non-string 'dtype'");
  if (sh == v.end() || !sh->is_array()) return Status::InvalidArgument(ctx + ": missing or non-list 'shape'");
  if (off == v.end() || !off->is_array() || off->size() != 2) {
    return Status::InvalidArgument(ctx + ": 'data_offsets' must be a list of two integers");
  }
  SafetensorsEntry e;
  e.name = name;
  e.dtype = dt->get<std::string>();
  const DtypeInfo* info = FindDtype(e.dtype);
  if (info == nullptr) return Status::InvalidArgument(ctx + ": unknown dtype '" + e.dtype + "'");
  e.supported = info->supported;
  e.torch_dtype = info->dtype;
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    SCORCH_ASSIGN_OR_RETURN(uint64_t dim, NonNegativeInt(d, ctx + ": shape entry"));
    if (dim > kMaxDim) return Status::InvalidArgument(ctx + ": dimension " + std::to_string(dim) + " is too large");
    if (__builtin_mul_overflow(numel, dim, &numel)) return Status::InvalidArgument(ctx + ": element count overflows");
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, info->size, &bytes)) return Status::InvalidArgument(ctx + ": byte size overflows");
  SCORCH_ASSIGN_OR_RETURN(e.begin, NonNegativeInt((*off)[0], ctx + ": data_offsets[0]"));
  SCORCH_ASSIGN_OR_RETURN(e.end, NonNegativeInt((*off)[1], ctx + ": data_offsets[1]"));
  if (e.begin > e.end) return Status::DataLoss(ctx + ": data_offsets begin > end");
  if (e.end > data_size) {
    return Status::DataLoss(ctx + ": data_offsets end " + std::to_string(e.end) + " is past the data section (" +
                            std::to_string(data_size) + " bytes); file truncated or corrupt");
  }
  if (e.end - e.begin != bytes) {
    return Status::DataLoss(ctx + ": byte range holds " + std::to_string(e.end - e.begin) + " bytes but shape x " +
                            e.dtype + " needs " + std::to_string(bytes));
  }
  return e;
}

}  // namespace

std::string SafetensorsDtypeName(torch::Dtype dtype) {
  for (const auto& d : kDtypes) {
    if (d.supported && d.dtype == dtype) return d.name;
  }
  return "";
}

StatusOr<SafetensorsHeader> ParseSafetensorsHeader(const uint8_t* data, uint64_t size) {
  if (size < 8) {
    return Status::DataLoss("safetensors file is " + std::to_string(size) + " bytes, too short for a header");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > kMaxHeaderBytes) {
    return Status::DataLoss("safetensors header length " + std::to_string(n) + " exceeds the 100 MiB limit");
  }
  if (n > size - 8) {
    return Status::DataLoss("safetensors header length " + std::to_string(n) + " is beyond the file size " +
                            std::to_string(size) + "; file truncated or corrupt");
  }
  const char* text = reinterpret_cast<const char*>(data + 8);
  SCORCH_RETURN_IF_ERROR(CheckDepth(text, n));
  json j = json::parse(text, text + n, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("safetensors header is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("safetensors header must be a JSON object");
  SafetensorsHeader h;
  h.data_offset = 8 + n;
  const uint64_t data_size = size - h.data_offset;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_null()) continue;
      if (!it->is_object()) return Status::InvalidArgument("safetensors __metadata__ must be an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          return Status::InvalidArgument("safetensors __metadata__ value for '" + m.key() + "' must be a string");
        }
        h.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    if (it.key().empty()) return Status::InvalidArgument("safetensors header has a tensor with an empty name");
    SCORCH_ASSIGN_OR_RETURN(auto e, ParseEntry(it.key(), *it, data_size));
    h.entries.push_back(std::move(e));
  }
  std::sort(h.entries.begin(), h.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < h.entries.size(); ++i) {
    if (h.entries[i].begin < h.entries[i - 1].end) {
      return Status::DataLoss("safetensors tensors '" + h.entries[i - 1].name + "' and '" + h.entries[i].name +
                              "' overlap");
    }
  }
  return h;
}

// ---------------------------------------------------------------------------------------
StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("safetensors file not found: " + path);
    return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IoError("cannot stat " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + " is not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return Status::DataLoss(path + ": " + std::to_string(size) + " bytes, too short for a safetensors header");
  }
  // MAP_PRIVATE + PROT_WRITE: copy-on-write, so a tensor view written by mistake never
  // changes the file.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (p == MAP_FAILED) return Status::IoError("cannot mmap " + path + ": " + std::strerror(err));
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->base_ = static_cast<uint8_t*>(p);
  f->size_ = size;
  auto h = ParseSafetensorsHeader(f->base_, size);
  if (!h.ok()) return h.status().WithContext(path);
  f->header_ = std::move(h).value();
  for (size_t i = 0; i < f->header_.entries.size(); ++i) f->index_[f->header_.entries[i].name] = i;
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

const SafetensorsEntry* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.entries[it->second];
}

StatusOr<torch::Tensor> SafetensorsFile::View(const std::string& name) const {
  const SafetensorsEntry* e = Find(name);
  if (e == nullptr) return Status::NotFound("tensor '" + name + "' not in " + path_);
  if (!e->supported) {
    return Status::Unimplemented("tensor '" + name + "' in " + path_ + " has dtype " + e->dtype +
                                 ", which scorch cannot load (supported: BOOL U8 I8 I16 I32 I64 F16 BF16 F32 F64)");
  }
  uint8_t* ptr = base_ + header_.data_offset + e->begin;
  auto opts = torch::TensorOptions().dtype(e->torch_dtype);
  const uint64_t elem = static_cast<uint64_t>(c10::elementSize(e->torch_dtype));
  if (reinterpret_cast<uintptr_t>(ptr) % elem == 0) return torch::from_blob(ptr, e->shape, opts);
  auto t = torch::empty(e->shape, opts);
  if (e->end > e->begin) std::memcpy(t.data_ptr(), ptr, e->end - e->begin);
  return t;
}

StatusOr<torch::Tensor> SafetensorsFile::Load(const std::string& name) const {
  SCORCH_ASSIGN_OR_RETURN(auto v, View(name));
  return v.clone();
}

// ---------------------------------------------------------------------------------------
Status WriteSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<torch::Tensor> data;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") return Status::InvalidArgument("invalid tensor name '" + name + "'");
    if (!names.insert(name).second) return Status::InvalidArgument("duplicate tensor name '" + name + "'");
    if (!tensor.defined()) return Status::InvalidArgument("tensor '" + name + "' is undefined");
    std::string dtype = SafetensorsDtypeName(tensor.scalar_type());
    if (dtype.empty()) {
      return Status::InvalidArgument("tensor '" + name + "' has a dtype safetensors cannot store");
    }
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * static_cast<uint64_t>(t.element_size());
    header[name] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::IoError("cannot create " + tmp + ": " + std::strerror(errno));
  uint8_t len[8];
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(h.data(), 1, h.size(), f) == h.size();
  for (const auto& t : data) {
    if (!ok) break;
    const size_t bytes = static_cast<size_t>(t.numel()) * static_cast<size_t>(t.element_size());
    ok = bytes == 0 || std::fwrite(t.data_ptr(), 1, bytes, f) == bytes;
  }
  ok = (std::fflush(f) == 0) && ok;
  ok = (::fsync(fileno(f)) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return Status::IoError("error writing " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace scorch::model
