// safetensors reader/writer: round trips in every float dtype, and malformed files
// (truncated, bad header JSON, header length beyond the file, oversized or overlapping
// offsets, unknown / unsupported dtypes, size mismatches, deep nesting) that must give a
// Status, never a crash. A fuzz loop mutates a valid header a few thousand times and checks
// that every accepted header keeps all byte ranges inside the file.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "scorch/model/safetensors.h"

namespace scorch::model {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/scorch_st_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void WriteAll(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  // A file whose header is `header` (no padding) followed by `data_bytes` zero bytes.
  std::string MakeRaw(const std::string& header, size_t data_bytes, const std::string& name = "raw.safetensors") {
    std::string bytes(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
    bytes += header;
    bytes.append(data_bytes, '\0');
    WriteAll(Path(name), bytes);
    return Path(name);
  }

  std::string dir_;
};

TEST_F(SafetensorsTest, RoundTripAllDtypes) {
  auto a = torch::randn({3, 5});
  std::vector<std::pair<std::string, torch::Tensor>> ts = {
      {"a.f32", a},
      {"a.f16", a.to(torch::kFloat16)},
      {"a.bf16", a.to(torch::kBFloat16)},
      {"ids", torch::arange(7, torch::kInt64)},
      {"scalar", torch::tensor(2.5)},
      {"empty", torch::zeros({0, 4})},
      {"flag", torch::tensor({true, false})},
      {"strided", a.t()},  // non-contiguous input is stored contiguous
  };
  ASSERT_TRUE(WriteSafetensors(Path("x.safetensors"), ts, {{"format", "pt"}}).ok());
  auto f = SafetensorsFile::Open(Path("x.safetensors"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->header().data_offset % 8, 0u);
  EXPECT_EQ((*f)->header().metadata.at("format"), "pt");
  for (const auto& [name, t] : ts) {
    auto v = (*f)->Load(name);
    ASSERT_TRUE(v.ok()) << name << ": " << v.status();
    EXPECT_EQ(v->scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(*v, t)) << name;
  }
  EXPECT_EQ((*f)->Find("a.bf16")->dtype, "BF16");
  EXPECT_TRUE((*f)->View("nope").status().IsNotFound());
  EXPECT_FALSE(fs::exists(Path("x.safetensors.tmp")));
}

TEST_F(SafetensorsTest, WriterRejectsBadInput) {
  auto t = torch::ones({2});
  EXPECT_TRUE(WriteSafetensors(Path("d.safetensors"), {{"a", t}, {"a", t}}).IsInvalidArgument());
  EXPECT_TRUE(WriteSafetensors(Path("d.safetensors"), {{"", t}}).IsInvalidArgument());
  EXPECT_TRUE(WriteSafetensors(Path("d.safetensors"), {{"c", torch::ones({2}, torch::kComplexFloat)}}).IsInvalidArgument());
  EXPECT_EQ(WriteSafetensors("/nonexistent-dir/x.safetensors", {{"a", t}}).code(), StatusCode::kIoError);
}

TEST_F(SafetensorsTest, MisalignedDataIsCopied) {
  // Header of odd length: F32 data starts at an address that is not 4-byte aligned.
  std::string h = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE((8 + h.size()) % 4, 0u);
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(h.size());
  bytes += h;
  float vals[2] = {1.5f, -2.0f};
  bytes.append(reinterpret_cast<const char*>(vals), 8);
  WriteAll(Path("m.safetensors"), bytes);
  auto f = SafetensorsFile::Open(Path("m.safetensors"));
  ASSERT_TRUE(f.ok()) << f.status();
  auto v = (*f)->View("w");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(torch::equal(*v, torch::tensor({1.5f, -2.0f})));
}

TEST_F(SafetensorsTest, MalformedFilesGiveErrors) {
  auto code = [&](const std::string& path) { return SafetensorsFile::Open(path).status().code(); };
  EXPECT_EQ(code(Path("absent.safetensors")), StatusCode::kNotFound);
  WriteAll(Path("short"), "abc");
  EXPECT_EQ(code(Path("short")), StatusCode::kDataLoss);
  // Header length beyond the file.
  std::string big(8, '\0');
  big[0] = static_cast<char>(0xff);
  big[1] = static_cast<char>(0x10);
  WriteAll(Path("len"), big + "{}");
  EXPECT_EQ(code(Path("len")), StatusCode::kDataLoss);
  // Header length over the 100 MiB cap.
  std::string huge(8, '\0');
  huge[5] = 1;
  WriteAll(Path("huge"), huge + "{}");
  EXPECT_EQ(code(Path("huge")), StatusCode::kDataLoss);
  EXPECT_EQ(code(MakeRaw("{not json", 0)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw("[1,2]", 0)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4)), StatusCode::kDataLoss);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", 8)),
            StatusCode::kDataLoss);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)), StatusCode::kDataLoss);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)), StatusCode::kDataLoss);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[2]}})", 8)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", 8)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}})", 8)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"w":3})", 8)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"__metadata__":{"a":1}})", 0)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(MakeRaw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
            StatusCode::kDataLoss);
  EXPECT_EQ(code(MakeRaw(std::string(200000, '[') + std::string(200000, ']'), 0)), StatusCode::kInvalidArgument);
  // A dtype LibTorch lacks opens, but reading that tensor is Unimplemented.
  auto f8 = SafetensorsFile::Open(MakeRaw(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4));
  ASSERT_TRUE(f8.ok()) << f8.status();
  EXPECT_EQ((*f8)->View("w").status().code(), StatusCode::kUnimplemented);
  // A directory is not a file.
  EXPECT_FALSE(SafetensorsFile::Open(dir_).ok());
}

TEST_F(SafetensorsTest, EveryTruncationIsAnError) {
  ASSERT_TRUE(WriteSafetensors(Path("t.safetensors"), {{"a", torch::randn({4, 4})}, {"b", torch::randn({3})}}).ok());
  std::string full = ReadAll(Path("t.safetensors"));
  // Every length through the header, then every 13th byte of the data section.
  for (size_t len = 0; len < full.size(); len += (len < 512 ? 1 : 13)) {
    WriteAll(Path("cut.safetensors"), full.substr(0, len));
    auto f = SafetensorsFile::Open(Path("cut.safetensors"));
    EXPECT_FALSE(f.ok()) << "truncated to " << len << " of " << full.size() << " bytes was accepted";
  }
}

// Mutates a valid header thousands of times. Every header the parser accepts must describe
// byte ranges inside the buffer with sizes matching shape x dtype.
TEST_F(SafetensorsTest, FuzzMutatedHeaders) {
  ASSERT_TRUE(WriteSafetensors(Path("f.safetensors"), {{"model.w", torch::randn({6, 4})},
                                                       {"model.b", torch::randn({4}).to(torch::kBFloat16)},
                                                       {"ids", torch::arange(5, torch::kInt64)}},
                               {{"format", "pt"}})
                  .ok());
  const std::string base = ReadAll(Path("f.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(base[static_cast<size_t>(i)]);
  const std::string header = base.substr(8, n);
  const std::string data = base.substr(8 + n);
  std::mt19937_64 rng(1234);
  const std::string alphabet = "{}[]\",:0123456789-.eE FIBUD_81632abc\\";
  int accepted = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string h = header;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !h.empty(); ++e) {
      const size_t pos = rng() % h.size();
      switch (rng() % 5) {
        case 0: h[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: h.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: h.erase(pos, 1 + rng() % 3); break;
        case 3: h[pos] = static_cast<char>(rng() & 0xff); break;
        case 4: if (std::isdigit(static_cast<unsigned char>(h[pos]))) h.insert(pos, std::to_string(rng() % 100000)); break;
      }
    }
    std::string file(8, '\0');
    uint64_t len = h.size();
    if (rng() % 10 == 0) len += rng() % 64;  // sometimes lie about the header length
    for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<char>(len >> (8 * i));
    file += h;
    file += data.substr(0, data.size() - (rng() % 3 == 0 ? rng() % (data.size() + 1) : 0));
    auto parsed = ParseSafetensorsHeader(reinterpret_cast<const uint8_t*>(file.data()), file.size());
    if (!parsed.ok()) continue;
    ++accepted;
    for (const auto& e : parsed->entries) {
      ASSERT_LE(e.begin, e.end);
      ASSERT_LE(parsed->data_offset + e.end, file.size()) << e.name;
    }
    if (iter % 20 == 0) {  // also through the mmap reader, touching every byte
      WriteAll(Path("fz.safetensors"), file);
      auto f = SafetensorsFile::Open(Path("fz.safetensors"));
      ASSERT_TRUE(f.ok());
      for (const auto& e : (*f)->header().entries) {
        auto v = (*f)->View(e.name);
        if (v.ok() && v->numel() > 0) (void)v->to(torch::kFloat64).sum().item<double>();
      }
    }
  }
  EXPECT_GT(accepted, 10);  // the mutations do not only produce garbage
}

}  // namespace
}  // namespace scorch::model
