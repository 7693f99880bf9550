// CRC-32C, TFRecord framing and the hand-written protobuf encoding of tensorflow.Event.
// See tfevents.h for the formats.
#include <array>
#include <cstring>

#include "scorch/common/tfevents.h"

namespace scorch {
namespace {

// Slicing-by-one table for the reflected Castagnoli polynomial 0x82F63B78.
constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// Protobuf wire types.
constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutTag(std::string& out, int field, int wire_type) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

void PutFixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void PutFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void PutBytes(std::string& out, int field, std::string_view bytes) {
  PutTag(out, field, kLengthDelimited);
  PutVarint(out, bytes.size());
  out.append(bytes);
}

void PutDouble(std::string& out, int field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  PutTag(out, field, kFixed64);
  PutFixed64(out, bits);
}

void PutFloat(std::string& out, int field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  PutTag(out, field, kFixed32);
  PutFixed32(out, bits);
}

}  // namespace

uint32_t Crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

std::string FrameTfRecord(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  std::string len;
  PutFixed64(len, data.size());
  out += len;
  PutFixed32(out, MaskCrc32c(Crc32c(len)));
  out.append(data);
  PutFixed32(out, MaskCrc32c(Crc32c(data)));
  return out;
}

std::string EncodeFileVersionEvent(double wall_time, std::string_view version) {
  std::string ev;
  PutDouble(ev, 1, wall_time);
  PutBytes(ev, 3, version);
  return ev;
}

std::string EncodeScalarsEvent(int64_t step, double wall_time,
                               const std::map<std::string, double>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    PutBytes(v, 1, tag);
    PutFloat(v, 2, static_cast<float>(value));
    PutBytes(summary, 1, v);
  }
  std::string ev;
  PutDouble(ev, 1, wall_time);
  PutTag(ev, 2, kVarint);
  PutVarint(ev, static_cast<uint64_t>(step));  // int64: two's complement, as protobuf does
  PutBytes(ev, 5, summary);
  return ev;
}

}  // namespace scorch
