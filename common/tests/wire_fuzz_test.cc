// Decoder fuzz test: well over 100k random and mutated buffers through DecodeMessage. Nothing
// may crash, hang or throw; every failure must be an error value with a message; and any
// buffer that does decode must be a valid message that re-encodes and decodes to itself.
//
// Mutations start from real encoded messages (every type): bit flips, byte overwrites,
// truncation, insertion, deletion, chunk duplication, splicing two messages, corrupting
// length fields (str/bin/array/map headers) and wrapping in deep nesting. A structure-aware
// pass edits the decoded tree (retypes, drops or duplicates fields) and re-encodes it, which
// reaches the field-level checks. Seeds are fixed, so a failure reproduces; it prints the
// iteration and the buffer in hex. Every buffer the structural scan accepts is also parsed
// by both the iterative parser and nlohmann's reference reader, and the trees must agree.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "scorch/common/proto/message.h"
#include "scorch/common/proto/msgpack_scan.h"
#include "wire_samples.h"

namespace scorch::proto {
namespace {

using json = nlohmann::json;

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < 512; ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  if (bytes.size() > 512) out += "...";
  return out;
}

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed) : rng_(seed) {
    for (const Message& m : testing::AllSampleMessages()) {
      auto bytes = EncodeMessage(m);
      if (bytes.ok()) corpus_.push_back(*bytes);
    }
  }

  const std::vector<std::string>& corpus() const { return corpus_; }

  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  uint8_t Byte() { return static_cast<uint8_t>(Below(256)); }

  std::string RandomBytes() {
    std::string out(Below(300), '\0');
    for (char& c : out) c = static_cast<char>(Byte());
    // Often start with a plausible envelope header so the scan goes further.
    if (!out.empty() && Below(2) == 0) out[0] = static_cast<char>(0x80 | Below(16));
    return out;
  }

  std::string Mutate() {
    std::string s = corpus_[Below(corpus_.size())];
    const size_t rounds = 1 + Below(4);
    for (size_t r = 0; r < rounds && !s.empty(); ++r) {
      switch (Below(9)) {
        case 0:  // bit flips
          for (size_t k = 0, n = 1 + Below(8); k < n; ++k) s[Below(s.size())] ^= 1 << Below(8);
          break;
        case 1:  // byte overwrite with an interesting value
          s[Below(s.size())] = static_cast<char>(Interesting());
          break;
        case 2:  // truncation
          s.resize(Below(s.size()));
          break;
        case 3: {  // insertion of random bytes
          std::string ins(1 + Below(16), '\0');
          for (char& c : ins) c = static_cast<char>(Byte());
          s.insert(Below(s.size() + 1), ins);
          break;
        }
        case 4: {  // deletion of a range
          const size_t at = Below(s.size());
          s.erase(at, 1 + Below(std::min<size_t>(32, s.size() - at)));
          break;
        }
        case 5: {  // duplicate a chunk elsewhere
          const size_t at = Below(s.size());
          const std::string chunk = s.substr(at, 1 + Below(64));
          s.insert(Below(s.size() + 1), chunk);
          break;
        }
        case 6: {  // splice: head of this message, tail of another
          const std::string& other = corpus_[Below(corpus_.size())];
          s = s.substr(0, Below(s.size() + 1)) + other.substr(Below(other.size() + 1));
          break;
        }
        case 7:
          CorruptLengthField(&s);
          break;
        case 8:  // deep nesting wrapper
          s.insert(0, std::string(1 + Below(200), Below(2) ? '\x91' : '\xdc'));
          break;
      }
    }
    return s;
  }

  // Decodes a corpus message to a tree, edits one node, re-encodes: valid msgpack, wrong content.
  std::string MutateTree() {
    json root = json::from_msgpack(corpus_[Below(corpus_.size())]);
    json* node = &root;
    // Walk down a random path.
    for (int depth = 0; depth < 6; ++depth) {
      if (node->is_object() && !node->empty() && Below(4) != 0) {
        auto it = node->begin();
        std::advance(it, static_cast<long>(Below(node->size())));
        node = &it.value();
      } else if (node->is_array() && !node->empty() && Below(4) != 0) {
        node = &(*node)[Below(node->size())];
      } else {
        break;
      }
    }
    switch (Below(8)) {
      case 0:
        *node = "str";
        break;
      case 1:
        *node = static_cast<int64_t>(rng_());
        break;
      case 2:
        *node = -1.5;
        break;
      case 3:
        *node = nullptr;
        break;
      case 4:
        *node = json::binary({1, 2, 3});
        break;
      case 5:
        *node = json::array({1, "x"});
        break;
      case 6:
        if (node->is_object() && !node->empty())
          node->erase(node->begin());
        else
          *node = json::object();
        break;
      case 7:
        *node = static_cast<uint64_t>(rng_());
        break;
    }
    std::string out;
    json::to_msgpack(root, out);
    return out;
  }

 private:
  uint8_t Interesting() {
    static const uint8_t kValues[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xc0, 0xc1, 0xc4, 0xc6,
                                      0xc9, 0xcb, 0xcf, 0xd3, 0xd8, 0xdb, 0xdd, 0xdf, 0xe0, 0xff};
    return kValues[Below(sizeof(kValues))];
  }

  // Finds a str/bin/array/map header with an explicit length and writes a wild length.
  void CorruptLengthField(std::string* s) {
    for (int tries = 0; tries < 32; ++tries) {
      const size_t at = Below(s->size());
      const auto b = static_cast<uint8_t>((*s)[at]);
      size_t width = 0;
      if (b == 0xc4 || b == 0xd9) width = 1;
      if (b == 0xc5 || b == 0xda || b == 0xdc || b == 0xde) width = 2;
      if (b == 0xc6 || b == 0xdb || b == 0xdd || b == 0xdf) width = 4;
      if (width == 0 || at + width >= s->size()) continue;
      for (size_t k = 1; k <= width; ++k) {
        (*s)[at + k] = static_cast<char>(Below(3) == 0 ? 0xff : Byte());
      }
      return;
    }
    (*s)[Below(s->size())] = static_cast<char>(0xdd);  // none found: plant an array32 header
  }

  std::mt19937_64 rng_;
  std::vector<std::string> corpus_;
};

size_t g_differential_checks = 0;

// Where the structural scan accepts a buffer, the iterative parser must build exactly the
// tree nlohmann's (recursive, reference) reader builds. Compared as re-encoded bytes, so NaN
// payloads compare equal.
void CheckParserAgainstNlohmann(std::string_view bytes, size_t iteration) {
  if (!ScanMsgpack(bytes).ok()) return;
  ++g_differential_checks;
  auto mine = ParseMsgpack(bytes);
  ASSERT_TRUE(mine.ok()) << "iteration " << iteration << ": " << mine.status();
  const json reference = json::from_msgpack(bytes.begin(), bytes.end(), /*strict=*/true,
                                            /*allow_exceptions=*/false);
  ASSERT_FALSE(reference.is_discarded())
      << "iteration " << iteration << ": scan accepted what nlohmann rejects: " << Hex(bytes);
  std::string a;
  std::string b;
  json::to_msgpack(*mine, a);
  json::to_msgpack(reference, b);
  EXPECT_EQ(Hex(a), Hex(b)) << "iteration " << iteration << ": input " << Hex(bytes);
}

// Decodes one buffer and checks the decoder's contract. Returns true if it decoded.
bool CheckOne(std::string_view bytes, size_t iteration) {
  CheckParserAgainstNlohmann(bytes, iteration);
  auto decoded = DecodeMessage(bytes);
  if (!decoded.ok()) {
    EXPECT_FALSE(decoded.status().message().empty())
        << "iteration " << iteration << ": error without a message; input " << Hex(bytes);
    return false;
  }
  // A decoded message is valid, so it must encode, and encoding must be a fixed point.
  auto again = EncodeMessage(*decoded);
  EXPECT_TRUE(again.ok()) << "iteration " << iteration
                          << ": decoded but cannot re-encode: " << again.status() << "; input "
                          << Hex(bytes);
  if (again.ok()) {
    auto round = DecodeMessage(*again);
    EXPECT_TRUE(round.ok()) << "iteration " << iteration << ": " << round.status();
    if (round.ok()) {
      auto third = EncodeMessage(*round);
      EXPECT_TRUE(third.ok() && *third == *again)
          << "iteration " << iteration << ": re-encoding is not stable; input " << Hex(bytes);
    }
  }
  return true;
}

TEST(WireFuzzTest, CorpusDecodes) {
  Fuzzer f(1);
  ASSERT_EQ(f.corpus().size(), std::variant_size_v<Message>);
  for (size_t i = 0; i < f.corpus().size(); ++i) EXPECT_TRUE(CheckOne(f.corpus()[i], i));
}

TEST(WireFuzzTest, RandomAndMutatedBuffersNeverCrash) {
  constexpr size_t kRandom = 40'000;
  constexpr size_t kMutated = 100'000;
  constexpr size_t kTree = 20'000;
  Fuzzer f(20261122);
  const auto start = std::chrono::steady_clock::now();
  size_t decoded = 0;
  size_t i = 0;
  for (size_t k = 0; k < kRandom; ++k, ++i) decoded += CheckOne(f.RandomBytes(), i);
  for (size_t k = 0; k < kMutated; ++k, ++i) decoded += CheckOne(f.Mutate(), i);
  for (size_t k = 0; k < kTree; ++k, ++i) decoded += CheckOne(f.MutateTree(), i);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "fuzzed %zu buffers in %.2f s; %zu decoded as valid messages; %zu parsed and compared "
      "with nlohmann's reader\n",
      i, seconds, decoded, g_differential_checks);
  EXPECT_GE(i, 100'000u);
  // Most mutations must be rejected; a handful survive (e.g. a flipped bit inside a text).
  EXPECT_LT(decoded, i / 2);
  EXPECT_GT(g_differential_checks, i / 10);  // the differential check did run on many
}

}  // namespace
}  // namespace scorch::proto
