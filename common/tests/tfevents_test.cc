// TfEventsWriter read back with an independent reader written here from the published formats
// (TFRecord framing with masked CRC-32C; protobuf wire format of tensorflow.Event). Debian has
// no TensorBoard package, so TensorBoard's own Python reader is not available to the tests.
// The reader's CRC is a bit-at-a-time implementation, deliberately unlike the writer's table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "scorch/common/tfevents.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;

uint32_t BitwiseCrc32c(const std::string& s) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : s) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}
uint32_t Masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint64_t ReadLe(const std::string& s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(s[pos + i])) << (8 * i);
  return v;
}

struct ReadEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<std::pair<std::string, float>> values;
};

// Minimal protobuf reader: calls fn(field, wire_type, varint_or_fixed, bytes) per field.
template <typename Fn>
bool ParseProto(const std::string& msg, Fn fn) {
  size_t pos = 0;
  auto varint = [&](uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= msg.size()) return false;
      unsigned char b = static_cast<unsigned char>(msg[pos++]);
      out |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  while (pos < msg.size()) {
    uint64_t key;
    if (!varint(key)) return false;
    int field = static_cast<int>(key >> 3), wt = static_cast<int>(key & 7);
    uint64_t num = 0;
    std::string bytes;
    if (wt == 0) {
      if (!varint(num)) return false;
    } else if (wt == 1) {
      if (pos + 8 > msg.size()) return false;
      num = ReadLe(msg, pos, 8);
      pos += 8;
    } else if (wt == 5) {
      if (pos + 4 > msg.size()) return false;
      num = ReadLe(msg, pos, 4);
      pos += 4;
    } else if (wt == 2) {
      uint64_t len;
      if (!varint(len) || pos + len > msg.size()) return false;
      bytes = msg.substr(pos, len);
      pos += len;
    } else {
      return false;
    }
    fn(field, wt, num, bytes);
  }
  return true;
}

ReadEvent DecodeEvent(const std::string& data) {
  ReadEvent ev;
  bool ok = ParseProto(data, [&](int f, int wt, uint64_t num, const std::string& bytes) {
    if (f == 1 && wt == 1) std::memcpy(&ev.wall_time, &num, 8);
    if (f == 2 && wt == 0) ev.step = static_cast<int64_t>(num);
    if (f == 3 && wt == 2) ev.file_version = bytes;
    if (f == 5 && wt == 2) {
      EXPECT_TRUE(ParseProto(bytes, [&](int sf, int swt, uint64_t, const std::string& vb) {
        if (sf != 1 || swt != 2) return;
        std::string tag;
        std::optional<float> value;
        EXPECT_TRUE(ParseProto(vb, [&](int vf, int vwt, uint64_t vn, const std::string& s) {
          if (vf == 1 && vwt == 2) tag = s;
          if (vf == 2 && vwt == 5) {
            uint32_t bits = static_cast<uint32_t>(vn);
            float x;
            std::memcpy(&x, &bits, 4);
            value = x;
          }
        }));
        EXPECT_TRUE(value.has_value()) << tag;
        ev.values.emplace_back(tag, value.value_or(NAN));
      }));
    }
  });
  EXPECT_TRUE(ok) << "malformed Event protobuf";
  return ev;
}

// Reads every record, checking both CRCs. Returns an error string on the first bad record.
std::vector<ReadEvent> ReadEventsFile(const fs::path& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  std::vector<ReadEvent> out;
  size_t pos = 0;
  while (pos < s.size()) {
    if (pos + 12 > s.size()) { *error = "truncated header"; return out; }
    uint64_t len = ReadLe(s, pos, 8);
    if (Masked(BitwiseCrc32c(s.substr(pos, 8))) != ReadLe(s, pos + 8, 4)) {
      *error = "length crc mismatch at " + std::to_string(pos);
      return out;
    }
    if (pos + 12 + len + 4 > s.size()) { *error = "truncated data"; return out; }
    std::string data = s.substr(pos + 12, len);
    if (Masked(BitwiseCrc32c(data)) != ReadLe(s, pos + 12 + len, 4)) {
      *error = "data crc mismatch at " + std::to_string(pos);
      return out;
    }
    out.push_back(DecodeEvent(data));
    pos += 12 + len + 4;
  }
  return out;
}

class TfEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("scorch_tfevents_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(Crc32cTest, KnownAnswers) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(Crc32c(""), 0u);
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4 test vector
  for (const std::string& s : std::vector<std::string>{"a", "hello world", std::string(1000, 'x')}) {
    EXPECT_EQ(Crc32c(s), BitwiseCrc32c(s)) << s;
  }
}

TEST_F(TfEventsTest, WritesFileVersionThenScalarsReadableByIndependentReader) {
  auto w = TfEventsWriter::Open(dir_ / "events");
  ASSERT_TRUE(w.ok()) << w.status();
  const fs::path path = (*w)->path();
  EXPECT_NE(path.filename().string().find("events.out.tfevents."), std::string::npos);
  ASSERT_TRUE((*w)->AddScalars(1, 1700000000.25, {{"reward/mean", 0.5}, {"loss", 2.25}}).ok());
  ASSERT_TRUE((*w)->AddScalars(2, 1700000001.5, {{"reward/mean", 0.75}}).ok());
  ASSERT_TRUE((*w)->AddScalars(3, 1700000002.0, {}).ok());  // nothing written
  ASSERT_TRUE((*w)->AddScalars(300000000000LL, 1700000003.0, {{"big", -1e30}}).ok());
  ASSERT_TRUE((*w)->Flush(/*sync=*/true).ok());

  std::string error;
  auto events = ReadEventsFile(path, &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_GT(events[0].wall_time, 1.6e9);
  EXPECT_EQ(events[1].step, 1);
  EXPECT_DOUBLE_EQ(events[1].wall_time, 1700000000.25);
  ASSERT_EQ(events[1].values.size(), 2u);
  EXPECT_EQ(events[1].values[0].first, "loss");
  EXPECT_FLOAT_EQ(events[1].values[0].second, 2.25f);
  EXPECT_EQ(events[1].values[1].first, "reward/mean");
  EXPECT_FLOAT_EQ(events[1].values[1].second, 0.5f);
  EXPECT_EQ(events[2].step, 2);
  EXPECT_FLOAT_EQ(events[2].values.at(0).second, 0.75f);
  EXPECT_EQ(events[3].step, 300000000000LL);
  EXPECT_FLOAT_EQ(events[3].values.at(0).second, -1e30f);
}

TEST_F(TfEventsTest, ReaderDetectsACorruptedByte) {
  fs::path path;
  {
    auto w = TfEventsWriter::Open(dir_);
    ASSERT_TRUE(w.ok());
    path = (*w)->path();
    ASSERT_TRUE((*w)->AddScalars(7, 1.0, {{"x", 1.0}}).ok());
  }  // destructor flushes
  std::string error;
  ASSERT_EQ(ReadEventsFile(path, &error).size(), 2u);
  ASSERT_EQ(error, "");
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path) - 6));  // inside the last value
    f.put('\x7f');
  }
  auto events = ReadEventsFile(path, &error);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_NE(error.find("data crc mismatch"), std::string::npos) << error;
}

TEST_F(TfEventsTest, TwoWritersInTheSameSecondGetDistinctFiles) {
  auto a = TfEventsWriter::Open(dir_);
  auto b = TfEventsWriter::Open(dir_);
  auto c = TfEventsWriter::Open(dir_, "learner");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_NE((*a)->path(), (*b)->path());
  EXPECT_NE((*c)->path().string().find(".learner"), std::string::npos);
}

TEST_F(TfEventsTest, OpenFailsWithAClearErrorWhenTheFolderCannotBeMade) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  auto w = TfEventsWriter::Open(dir_ / "file" / "events");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kIoError);
  EXPECT_NE(w.status().message().find("event folder"), std::string::npos);
}

TEST_F(TfEventsTest, MirrorWritesEveryNumericKeyExceptStepTimeStageStep) {
  auto w = TfEventsWriter::Open(dir_);
  ASSERT_TRUE(w.ok());
  nlohmann::json rec = {{"step", 12},         {"time", 1700000123.5}, {"stage", "grpo"},
                        {"stage_kind", "grpo"}, {"stage_step", 4},     {"loss", 0.125},
                        {"acc/turn1", 0.5},    {"grader/errors", 0},   {"flag", true},
                        {"nested", {{"a", 1}}}};
  auto scalars = ScalarsFromMetricsRecord(rec);
  EXPECT_EQ(scalars, (std::map<std::string, double>{{"acc/turn1", 0.5}, {"grader/errors", 0}, {"loss", 0.125}}));
  ASSERT_TRUE(MirrorMetricsToEvents(**w, rec).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  std::string error;
  auto events = ReadEventsFile((*w)->path(), &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].step, 12);
  EXPECT_DOUBLE_EQ(events[1].wall_time, 1700000123.5);
  ASSERT_EQ(events[1].values.size(), 3u);
  EXPECT_EQ(events[1].values[1].first, "grader/errors");

  auto bad = MirrorMetricsToEvents(**w, nlohmann::json{{"loss", 1.0}});
  EXPECT_TRUE(bad.IsInvalidArgument());
  EXPECT_TRUE(MirrorMetricsToEvents(**w, nlohmann::json::array()).IsInvalidArgument());
  EXPECT_TRUE((*w)->AddScalars(1, 1.0, {{"", 1.0}}).IsInvalidArgument());
}

TEST_F(TfEventsTest, ConcurrentWritersProduceWholeRecords) {
  auto w = TfEventsWriter::Open(dir_);
  ASSERT_TRUE(w.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE((*w)->AddScalars(t * 1000 + i, 1.0, {{"t" + std::to_string(t), i}}).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*w)->Flush().ok());
  std::string error;
  EXPECT_EQ(ReadEventsFile((*w)->path(), &error).size(), 801u);
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace scorch
