// Conformance of BpeTokenizer with Qwen3's real tokenizer: every string of
// tests/fixtures/tokenizer/corpus.jsonl must encode to exactly the reference ids produced by
// transformers.js (tools/tokenizer_reference/gen_reference.mjs), and decode back to the NFC
// form of the string. Also: loader facts, special tokens, decode edge cases, thread safety.
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "scorch/model/bpe_tokenizer.h"
#include "scorch/model/tokenizer.h"
#include "scorch/model/unicode.h"

namespace scorch::model {
namespace {

const std::string kFixtures = std::string(SCORCH_SOURCE_DIR) + "/tests/fixtures/tokenizer";

struct Reference {
  std::string text;
  std::vector<TokenId> ids;
};

std::vector<Reference> LoadReference() {
  std::vector<Reference> out;
  std::ifstream in(kFixtures + "/qwen3_reference.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    out.push_back({j["text"].get<std::string>(), j["ids"].get<std::vector<TokenId>>()});
  }
  return out;
}

class Qwen3TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = LoadTokenizer(kFixtures + "/qwen3");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = std::move(loaded).value().release();
    reference_ = new std::vector<Reference>(LoadReference());
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete reference_;
  }
  static Tokenizer* tokenizer_;
  static std::vector<Reference>* reference_;
};
Tokenizer* Qwen3TokenizerTest::tokenizer_ = nullptr;
std::vector<Reference>* Qwen3TokenizerTest::reference_ = nullptr;

std::string Ids(const std::vector<TokenId>& ids) { return nlohmann::json(ids).dump(); }

TEST_F(Qwen3TokenizerTest, LoaderFacts) {
  EXPECT_EQ(tokenizer_->kind(), "bpe");
  EXPECT_EQ(tokenizer_->vocab_size(), 151669);
  EXPECT_EQ(tokenizer_->TokenToId("<|im_end|>"), 151645);
  EXPECT_EQ(tokenizer_->TokenToId("Hello"), 9707);
  EXPECT_EQ(tokenizer_->IdToToken(1879), "Ġworld");
  EXPECT_EQ(tokenizer_->eos_id(), 151645);  // tokenizer_config.json: <|im_end|>
  EXPECT_EQ(tokenizer_->pad_id(), 151643);  // <|endoftext|>
  EXPECT_FALSE(tokenizer_->bos_id().has_value());
  EXPECT_TRUE(tokenizer_->IsSpecial(151644));
  EXPECT_FALSE(tokenizer_->IsSpecial(9707));
  EXPECT_EQ(tokenizer_->StopTokenIds(), (std::vector<TokenId>{151643, 151645}));
  auto* bpe = dynamic_cast<BpeTokenizer*>(tokenizer_);
  ASSERT_NE(bpe, nullptr);
  EXPECT_EQ(bpe->num_merges(), 151387u);
  EXPECT_EQ(bpe->num_added_tokens(), 26u);
}

TEST_F(Qwen3TokenizerTest, CorpusIsLargeAndVaried) {
  ASSERT_GE(reference_->size(), 300u);
  size_t non_ascii = 0, with_special = 0;
  for (const Reference& r : *reference_) {
    non_ascii += std::any_of(r.text.begin(), r.text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    with_special += r.text.find("<|") != std::string::npos;
  }
  EXPECT_GE(non_ascii, 100u);
  EXPECT_GE(with_special, 10u);
}

TEST_F(Qwen3TokenizerTest, EncodeMatchesReferenceForEveryString) {
  size_t mismatches = 0;
  for (size_t i = 0; i < reference_->size(); ++i) {
    const Reference& r = (*reference_)[i];
    auto ids = tokenizer_->Encode(r.text);
    ASSERT_TRUE(ids.ok()) << "line " << i + 1 << ": " << ids.status();
    if (*ids != r.ids) {
      ++mismatches;
      ADD_FAILURE() << "line " << i + 1 << " text " << nlohmann::json(r.text).dump() << "\n  scorch:    " << Ids(*ids)
                    << "\n  reference: " << Ids(r.ids);
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << reference_->size() << " strings";
}

TEST_F(Qwen3TokenizerTest, DecodeRoundTripsEveryString) {
  for (size_t i = 0; i < reference_->size(); ++i) {
    const Reference& r = (*reference_)[i];
    auto text = tokenizer_->Decode(r.ids);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, unicode::NormalizeNfc(r.text)) << "line " << i + 1;
  }
}

TEST_F(Qwen3TokenizerTest, SpecialTokensInsideText) {
  auto ids = tokenizer_->Encode("a<|im_end|>b<|endoftext|>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<TokenId>{64, 151645, 65, 151643}));
  auto skipped = tokenizer_->Decode(*ids, /*skip_special_tokens=*/true);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(*skipped, "ab");
  // Qwen's post-processor adds nothing.
  EXPECT_EQ(*tokenizer_->Encode("Hello", true), (std::vector<TokenId>{9707}));
}

TEST_F(Qwen3TokenizerTest, DigitsAreSplitIndividually) {
  auto ids = tokenizer_->Encode("12345");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 5u);
}

TEST_F(Qwen3TokenizerTest, InvalidUtf8IsAnErrorNotACrash) {
  auto ids = tokenizer_->Encode(std::string("ok\xff\xfe", 4));
  ASSERT_FALSE(ids.ok());
  EXPECT_TRUE(ids.status().IsInvalidArgument());
  EXPECT_NE(ids.status().message().find("offset 2"), std::string::npos) << ids.status();
  EXPECT_FALSE(tokenizer_->Encode(std::string("\xed\xa0\x80", 3)).ok());  // surrogate
}

TEST_F(Qwen3TokenizerTest, DecodeHandlesPartialCodePointsAndBadIds) {
  // A rare code point that byte-level BPE spells with several tokens.
  StatusOr<std::vector<TokenId>> ids = std::vector<TokenId>{};
  for (const char* rare : {"\U00013000", "\U0001D518", "\U0002A6D6", "\U0001F9FF"}) {
    ids = tokenizer_->Encode(rare);
    ASSERT_TRUE(ids.ok());
    if (ids->size() >= 2) break;
  }
  ASSERT_GE(ids->size(), 2u) << "no candidate spans several byte-level tokens";
  std::vector<TokenId> first(ids->begin(), ids->begin() + 1);
  auto partial = tokenizer_->Decode(first);
  ASSERT_TRUE(partial.ok());
  EXPECT_NE(partial->find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  auto bytes = tokenizer_->DecodeBytes(first);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(unicode::Utf8CompletePrefixLength(*bytes), 0u);

  const std::vector<TokenId> bad = {9707, 999999};
  auto decoded = tokenizer_->Decode(bad);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(decoded.status().message().find("999999"), std::string::npos);
  EXPECT_FALSE(tokenizer_->Decode(std::vector<TokenId>{-1}).ok());
}

TEST_F(Qwen3TokenizerTest, ConcurrentEncodersAgree) {
  std::vector<std::thread> threads;
  std::vector<size_t> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < reference_->size(); i += 2) {
        auto ids = tokenizer_->Encode((*reference_)[i].text);
        if (!ids.ok() || *ids != (*reference_)[i].ids) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t m : mismatches) EXPECT_EQ(m, 0u);
}

TEST(LoadTokenizerTest, MissingFileIsNotFound) {
  auto t = LoadTokenizer("/nonexistent/dir/tokenizer.json");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsNotFound()) << t.status();
}

}  // namespace
}  // namespace scorch::model
