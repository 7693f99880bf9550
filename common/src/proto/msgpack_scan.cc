// Iterative structural scan of a MessagePack buffer (msgpack_scan.h). One pass, an explicit
// stack of open containers, no recursion: the depth of a hostile buffer costs heap, bounded
// by max_depth, never stack.
#include "scorch/common/proto/msgpack_scan.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace scorch::proto {
namespace {

struct Frame {
  uint64_t remaining;  // values still to read in this container (a map counts 2 per entry)
  bool is_map;
};

// Reads a big-endian unsigned integer of `width` bytes at data[pos].
uint64_t ReadBigEndian(const uint8_t* data, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v = (v << 8) | data[i];
  return v;
}

bool IsStringByte(uint8_t b) { return (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb); }

std::string At(size_t offset) { return " at offset " + std::to_string(offset); }

}  // namespace

Status ScanMsgpack(std::string_view bytes, const MsgpackScanLimits& limits) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  if (n == 0) return Status::DataLoss("msgpack: empty buffer");

  std::vector<Frame> stack;
  stack.reserve(16);
  stack.push_back({1, false});  // the single top-level value
  size_t pos = 0;
  size_t elements = 0;

  while (true) {
    while (!stack.empty() && stack.back().remaining == 0) stack.pop_back();
    if (stack.empty()) break;
    Frame& frame = stack.back();
    const bool want_key = frame.is_map && frame.remaining % 2 == 0;
    --frame.remaining;

    if (pos >= n) return Status::DataLoss("msgpack: truncated, expected a value" + At(pos));
    if (++elements > limits.max_elements) {
      return Status::ResourceExhausted("msgpack: more than " + std::to_string(limits.max_elements) +
                                       " values");
    }
    const size_t start = pos;
    const uint8_t b = data[pos++];
    if (want_key && !IsStringByte(b)) {
      return Status::InvalidArgument("msgpack: map key" + At(start) + " is not a string");
    }

    // Classify the value: a fixed payload of `skip` bytes, a length-prefixed payload whose
    // length field is `len_width` bytes wide (plus `extra` bytes, the ext type), or a
    // container of `count` entries.
    size_t skip = 0;
    size_t len_width = 0;
    size_t extra = 0;
    bool container = false;
    bool is_map = false;
    uint64_t count = 0;
    size_t count_width = 0;

    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      // positive/negative fixint, nil, false, true: no payload
    } else if (b >= 0x80 && b <= 0x8f) {
      container = true, is_map = true, count = b & 0x0f;
    } else if (b >= 0x90 && b <= 0x9f) {
      container = true, count = b & 0x0f;
    } else if (b >= 0xa0 && b <= 0xbf) {
      skip = b & 0x1f;
    } else {
      switch (b) {
        case 0xc4:
        case 0xd9:
          len_width = 1;
          break;  // bin8, str8
        case 0xc5:
        case 0xda:
          len_width = 2;
          break;  // bin16, str16
        case 0xc6:
        case 0xdb:
          len_width = 4;
          break;  // bin32, str32
        case 0xc7:
          len_width = 1, extra = 1;
          break;  // ext8
        case 0xc8:
          len_width = 2, extra = 1;
          break;  // ext16
        case 0xc9:
          len_width = 4, extra = 1;
          break;  // ext32
        case 0xca:
          skip = 4;
          break;  // float32
        case 0xcb:
          skip = 8;
          break;  // float64
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;  // uint8, int8
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;  // uint16, int16
        case 0xce:
        case 0xd2:
          skip = 4;
          break;  // uint32, int32
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;  // uint64, int64
        case 0xd4:
          skip = 2;
          break;  // fixext1 (type + 1)
        case 0xd5:
          skip = 3;
          break;  // fixext2
        case 0xd6:
          skip = 5;
          break;  // fixext4
        case 0xd7:
          skip = 9;
          break;  // fixext8
        case 0xd8:
          skip = 17;
          break;  // fixext16
        case 0xdc:
          container = true, count_width = 2;
          break;  // array16
        case 0xdd:
          container = true, count_width = 4;
          break;  // array32
        case 0xde:
          container = true, is_map = true, count_width = 2;
          break;  // map16
        case 0xdf:
          container = true, is_map = true, count_width = 4;
          break;  // map32
        default:  // 0xc1, never used by msgpack
          return Status::DataLoss("msgpack: reserved type byte 0xc1" + At(start));
      }
    }

    if (len_width > 0) {
      if (n - pos < len_width) {
        return Status::DataLoss("msgpack: truncated length field" + At(start));
      }
      const uint64_t len = ReadBigEndian(data + pos, len_width);
      pos += len_width;
      if (len > n - pos || extra > n - pos - len) {
        return Status::DataLoss("msgpack: " + std::to_string(len) + "-byte payload" + At(start) +
                                " runs past the end of the " + std::to_string(n) + "-byte buffer");
      }
      pos += len + extra;
      continue;
    }
    if (!container) {
      if (skip > n - pos) {
        return Status::DataLoss("msgpack: truncated value" + At(start));
      }
      pos += skip;
      continue;
    }

    if (count_width > 0) {
      if (n - pos < count_width) {
        return Status::DataLoss("msgpack: truncated container header" + At(start));
      }
      count = ReadBigEndian(data + pos, count_width);
      pos += count_width;
    }
    const uint64_t values = is_map ? 2 * count : count;  // count < 2^32: no overflow
    if (values > n - pos) {
      return Status::DataLoss("msgpack: " + std::string(is_map ? "map" : "array") + " of " +
                              std::to_string(count) + " entries" + At(start) +
                              " cannot fit in the " + std::to_string(n - pos) + " bytes left");
    }
    // stack holds the top-level slot plus every open ancestor container.
    if (static_cast<int>(stack.size()) > limits.max_depth) {
      return Status::ResourceExhausted("msgpack: nesting deeper than " +
                                       std::to_string(limits.max_depth) + " levels" + At(start));
    }
    if (values > 0) stack.push_back({values, is_map});
  }

  if (pos != n) {
    return Status::DataLoss("msgpack: " + std::to_string(n - pos) +
                            " trailing bytes after the message" + At(pos));
  }
  return Status::Ok();
}

}  // namespace scorch::proto

namespace scorch::proto {
namespace {

using json = nlohmann::json;

// Reads values from a buffer that ScanMsgpack has accepted. Bounds are still checked (one
// compare per read) so that a bug here cannot read out of range.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes)
      : data_(reinterpret_cast<const uint8_t*>(bytes.data())), n_(bytes.size()) {}

  bool Has(size_t k) const { return k <= n_ - pos_; }
  uint8_t Byte() { return data_[pos_++]; }
  uint64_t BigEndian(size_t width) {
    const uint64_t v = ReadBigEndian(data_ + pos_, width);
    pos_ += width;
    return v;
  }
  const uint8_t* Take(size_t k) {
    const uint8_t* p = data_ + pos_;
    pos_ += k;
    return p;
  }
  size_t pos() const { return pos_; }

 private:
  const uint8_t* data_;
  size_t n_;
  size_t pos_ = 0;
};

template <typename T>
T FromBits(uint64_t bits) {
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  const U narrow = static_cast<U>(bits);
  T out;
  std::memcpy(&out, &narrow, sizeof(T));
  return out;
}

Status Corrupt(size_t offset) {
  return Status::DataLoss("msgpack: inconsistent buffer" + At(offset));
}

// Reads one scalar, or the header of a container (returned as an empty array/object with
// *count set), at the cursor.
Status ReadValue(Cursor& c, json* out, uint64_t* count) {
  *count = 0;
  const size_t start = c.pos();
  if (!c.Has(1)) return Corrupt(start);
  const uint8_t b = c.Byte();
  auto fixed = [&](size_t width, uint64_t* v) {
    if (!c.Has(width)) return false;
    *v = c.BigEndian(width);
    return true;
  };
  uint64_t v = 0;
  size_t len_width = 0;
  bool is_bin = false;
  bool is_ext = false;
  if (b <= 0x7f) {
    *out = static_cast<uint64_t>(b);
    return Status::Ok();
  }
  if (b >= 0xe0) {
    *out = static_cast<int64_t>(static_cast<int8_t>(b));
    return Status::Ok();
  }
  if (b <= 0x8f || (b >= 0x90 && b <= 0x9f)) {
    *count = b & 0x0f;
    *out = b <= 0x8f ? json::object() : json::array();
    return Status::Ok();
  }
  if (b <= 0xbf) {  // fixstr
    const size_t len = b & 0x1f;
    if (!c.Has(len)) return Corrupt(start);
    const auto* p = c.Take(len);
    *out = std::string(reinterpret_cast<const char*>(p), len);
    return Status::Ok();
  }
  switch (b) {
    case 0xc0:
      *out = nullptr;
      return Status::Ok();
    case 0xc2:
      *out = false;
      return Status::Ok();
    case 0xc3:
      *out = true;
      return Status::Ok();
    case 0xc4:
      len_width = 1, is_bin = true;
      break;
    case 0xc5:
      len_width = 2, is_bin = true;
      break;
    case 0xc6:
      len_width = 4, is_bin = true;
      break;
    case 0xc7:
      len_width = 1, is_ext = true;
      break;
    case 0xc8:
      len_width = 2, is_ext = true;
      break;
    case 0xc9:
      len_width = 4, is_ext = true;
      break;
    case 0xca:
      if (!fixed(4, &v)) return Corrupt(start);
      *out = static_cast<double>(FromBits<float>(v));
      return Status::Ok();
    case 0xcb:
      if (!fixed(8, &v)) return Corrupt(start);
      *out = FromBits<double>(v);
      return Status::Ok();
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      if (!fixed(size_t{1} << (b - 0xcc), &v)) return Corrupt(start);
      *out = v;
      return Status::Ok();
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const size_t width = size_t{1} << (b - 0xd0);
      if (!fixed(width, &v)) return Corrupt(start);
      // Sign-extend the big-endian two's-complement value of `width` bytes.
      const int shift = static_cast<int>(64 - 8 * width);
      *out = static_cast<int64_t>(v << shift) >> shift;
      return Status::Ok();
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: {
      const size_t len = size_t{1} << (b - 0xd4);
      if (!c.Has(1 + len)) return Corrupt(start);
      const uint8_t subtype = c.Byte();
      const auto* p = c.Take(len);
      *out = json::binary(std::vector<uint8_t>(p, p + len), subtype);
      return Status::Ok();
    }
    case 0xd9:
      len_width = 1;
      break;
    case 0xda:
      len_width = 2;
      break;
    case 0xdb:
      len_width = 4;
      break;
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      if (!fixed(b == 0xdc || b == 0xde ? 2 : 4, &v)) return Corrupt(start);
      *count = v;
      *out = b <= 0xdd ? json::array() : json::object();
      return Status::Ok();
    }
    default:
      return Corrupt(start);
  }
  // str, bin or ext with an explicit length.
  if (!fixed(len_width, &v)) return Corrupt(start);
  if (!c.Has(v + (is_ext ? 1 : 0))) return Corrupt(start);
  const uint8_t subtype = is_ext ? c.Byte() : 0;
  const auto* p = c.Take(v);
  if (is_bin) {
    *out = json::binary(std::vector<uint8_t>(p, p + v));
  } else if (is_ext) {
    *out = json::binary(std::vector<uint8_t>(p, p + v), subtype);
  } else {
    *out = std::string(reinterpret_cast<const char*>(p), v);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<nlohmann::json> ParseMsgpack(std::string_view bytes, const MsgpackScanLimits& limits) {
  SCORCH_RETURN_IF_ERROR(ScanMsgpack(bytes, limits));
  struct Open {
    json* container;
    uint64_t remaining;  // entries (key/value pairs for a map) still to read
  };
  Cursor cursor(bytes);
  json root;
  std::vector<Open> stack;
  bool root_done = false;
  json key;
  while (true) {
    while (!stack.empty() && stack.back().remaining == 0) stack.pop_back();
    if (stack.empty() && root_done) break;
    json* slot;
    if (stack.empty()) {
      slot = &root;
      root_done = true;
    } else {
      Open& open = stack.back();
      --open.remaining;
      if (open.container->is_object()) {
        uint64_t unused;
        const size_t at = cursor.pos();
        SCORCH_RETURN_IF_ERROR(ReadValue(cursor, &key, &unused));
        if (!key.is_string()) return Corrupt(at);
        // A repeated key keeps the last value, as nlohmann's reader does.
        slot = &(*open.container)[key.get_ref<const std::string&>()];
      } else {
        open.container->push_back(nullptr);
        slot = &open.container->back();  // stays valid until this child is complete
      }
    }
    uint64_t count = 0;
    SCORCH_RETURN_IF_ERROR(ReadValue(cursor, slot, &count));
    if (count > 0) {
      if (slot->is_array()) slot->get_ref<json::array_t&>().reserve(count);
      stack.push_back({slot, count});
    }
  }
  if (cursor.pos() != bytes.size()) return Corrupt(cursor.pos());
  return root;
}

}  // namespace scorch::proto
