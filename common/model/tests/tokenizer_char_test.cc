// CharTokenizer: the default vocabulary for the synthetic task, encode/decode, special
// tokens, serialisation round trip, and errors.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scorch/model/char_tokenizer.h"
#include "scorch/model/tokenizer.h"

namespace scorch::model {
namespace {

TEST(CharTokenizerTest, DefaultVocabulary) {
  auto t = CharTokenizer::CreateDefault();
  EXPECT_EQ(t->kind(), "char");
  EXPECT_EQ(t->vocab_size(), 101);
  EXPECT_EQ(t->TokenToId("<|endoftext|>"), 0);
  EXPECT_EQ(t->TokenToId("<|im_start|>"), 1);
  EXPECT_EQ(t->TokenToId("<|im_end|>"), 2);
  EXPECT_EQ(t->TokenToId("<|pad|>"), 3);
  EXPECT_EQ(t->TokenToId("\n"), 4);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_EQ(t->pad_id(), 3);
  EXPECT_EQ(t->StopTokenIds(), (std::vector<TokenId>{0, 2}));
  EXPECT_TRUE(t->IsSpecial(3));
  EXPECT_FALSE(t->IsSpecial(4));
  EXPECT_EQ(t->IdToToken(100), "~");
  EXPECT_FALSE(t->IdToToken(101).has_value());
}

TEST(CharTokenizerTest, RoundTripsTaskText) {
  auto t = CharTokenizer::CreateDefault();
  const std::string text =
      "<|im_start|>user\nWhat is 12*(3+4)-5/6^2? Let's think step by step and output the final answer within "
      "\\boxed{}.<|im_end|>\n<|im_start|>assistant\n12 * 7 = 84 ... \\boxed{\\frac{1}{2}}\n[VERIFY] wrong.\t~|<|im_end|>";
  auto ids = t->Encode(text);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ((*ids)[0], 1);
  EXPECT_EQ(ids->back(), 2);
  EXPECT_EQ(*t->Decode(*ids), text);
  auto stripped = t->Decode(*ids, /*skip_special_tokens=*/true);
  EXPECT_EQ(stripped->find("<|"), std::string::npos);
  // A lone '<' that starts no special token is just a character.
  EXPECT_EQ(t->Encode("a<b")->size(), 3u);
}

TEST(CharTokenizerTest, UnknownCharacterIsAnError) {
  auto t = CharTokenizer::CreateDefault();
  auto ids = t->Encode("x = \xCF\x80");  // π
  ASSERT_FALSE(ids.ok());
  EXPECT_TRUE(ids.status().IsInvalidArgument());
  EXPECT_NE(ids.status().message().find("U+03C0"), std::string::npos) << ids.status();
  EXPECT_NE(ids.status().message().find("offset 4"), std::string::npos) << ids.status();
  EXPECT_FALSE(t->Encode("\xFF").ok());
  EXPECT_FALSE(t->Decode(std::vector<TokenId>{5, 101}).ok());
}

TEST(CharTokenizerTest, SerialisationRoundTripThroughLoader) {
  auto custom = CharTokenizer::Create({"<|eos|>", "<|pad|>", "<|bos|>"}, "0123456789+-=\xCF\x80", {"<|eos|>", "<|pad|>", "<|bos|>"});
  ASSERT_TRUE(custom.ok()) << custom.status();
  const std::string path = testing::TempDir() + "/char_tokenizer.json";
  ASSERT_TRUE((*custom)->Save(path).ok());
  auto loaded = LoadTokenizer(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->kind(), "char");
  EXPECT_EQ((*loaded)->vocab_size(), 17);
  EXPECT_EQ((*loaded)->bos_id(), 2);
  const std::string text = "12+3=15\xCF\x80<|eos|>";
  EXPECT_EQ(*(*loaded)->Encode(text), *(*custom)->Encode(text));
  EXPECT_EQ(*(*loaded)->Encode("1", /*add_special_tokens=*/true), (std::vector<TokenId>{2, 4}));
  EXPECT_EQ(dynamic_cast<CharTokenizer&>(**loaded).ToJson(), (*custom)->ToJson());
  std::filesystem::remove(path);

  auto def = CharTokenizer::CreateDefault();
  auto again = CharTokenizer::FromJson(def->ToJson());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->ToJson(), def->ToJson());
}

TEST(CharTokenizerTest, InvalidDefinitionsAndFiles) {
  EXPECT_FALSE(CharTokenizer::Create({"<a>", "<a>"}, "x", {"", "", ""}).ok());
  EXPECT_FALSE(CharTokenizer::Create({"<a>"}, "xx", {"", "", ""}).ok());
  EXPECT_FALSE(CharTokenizer::Create({"<a>"}, "x", {"<missing>", "", ""}).ok());
  EXPECT_FALSE(CharTokenizer::Create({""}, "x", {"", "", ""}).ok());
  auto bad = CharTokenizer::FromJson(R"({"model": {"type": "ScorchChar", "characters": ["ab"]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("characters[0]"), std::string::npos) << bad.status();
  bad = CharTokenizer::FromJson(R"({"model": {"type": "ScorchChar"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("model.characters"), std::string::npos) << bad.status();
  bad = CharTokenizer::FromJson(R"({"model": {"type": "ScorchChar", "characters": ["a"]}, "added_tokens": [{"id": 3, "content": "<x>"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("added_tokens[0]"), std::string::npos) << bad.status();
  EXPECT_FALSE(CharTokenizer::FromJson("[1, 2").ok());
}

}  // namespace
}  // namespace scorch::model
