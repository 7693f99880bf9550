// BpeTokenizer on small hand-made tokenizer.json files: merge order, pre-tokenizer variants,
// added-token options, post-processor, and one error test per malformed or unsupported field
// (each must be a Status naming the field, never a crash).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "scorch/model/bpe_tokenizer.h"
#include "scorch/model/tokenizer.h"
#include "scorch/model/unicode.h"

namespace scorch::model {
namespace {

using nlohmann::json;

// GPT-2's byte -> code point map, written out independently of the library.
std::string ByteSymbol(int b) {
  auto printable = [](int x) { return (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF); };
  char32_t cp = static_cast<char32_t>(b);
  if (!printable(b)) {
    int n = 0;
    for (int x = 0; x < b; ++x) n += !printable(x);
    cp = 256 + n;
  }
  std::string s;
  unicode::AppendUtf8(cp, &s);
  return s;
}

// Vocab: the 256 byte symbols (ids 0..255) plus `extra` tokens; merges as given.
json TinyTokenizer(const std::vector<std::pair<std::string, std::string>>& merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteSymbol(b)] = b;
  int next = 256;
  json merge_list = json::array();
  for (const auto& [a, b] : merges) {
    if (!vocab.contains(a + b)) vocab[a + b] = next++;
    merge_list.push_back(a + " " + b);
  }
  return {
      {"version", "1.0"},
      {"added_tokens", json::array({{{"id", 1000}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"}, {"pattern", {{"Regex", R"(\p{N}|\s+|[^\s\p{N}]+)"}}}, {"behavior", "Isolated"}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}},
  };
}

std::vector<std::string> Tokens(const Tokenizer& t, const std::string& text) {
  auto ids = t.Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  std::vector<std::string> out;
  if (!ids.ok()) return out;
  for (TokenId id : *ids) out.push_back(t.IdToToken(id).value_or("?"));
  return out;
}

std::unique_ptr<BpeTokenizer> Make(const json& j) {
  auto t = BpeTokenizer::FromJson(j.dump());
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(t).value() : nullptr;
}

Status LoadError(const json& j) {
  auto t = LoadTokenizerFromJson(j.dump());
  return t.ok() ? Status::Ok() : t.status();
}

TEST(BpeTokenizerTest, MergesApplyByRankNotByPosition) {
  // "abc": (b,c) has the better rank, so we get a + bc even though (a,b) is leftmost.
  auto t = Make(TinyTokenizer({{"b", "c"}, {"a", "b"}}));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "abc"), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(Tokens(*t, "abx"), (std::vector<std::string>{"ab", "x"}));
}

TEST(BpeTokenizerTest, EqualRanksMergeLeftmostFirst) {
  auto t = Make(TinyTokenizer({{"a", "a"}, {"aa", "a"}}));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "aaa"), (std::vector<std::string>{"aaa"}));
  // (a,a) outranks (aa,a), so both (a,a) pairs merge before any (aa,a): aa + aa.
  EXPECT_EQ(Tokens(*t, "aaaa"), (std::vector<std::string>{"aa", "aa"}));
  EXPECT_EQ(Tokens(*t, "aaaaa"), (std::vector<std::string>{"aa", "aaa"}));
}

TEST(BpeTokenizerTest, ChainedMergesAndSpacesAsByteSymbols) {
  auto t = Make(TinyTokenizer({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "Ġ"}}));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "hello"), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(Tokens(*t, "hello  7"), (std::vector<std::string>{"hello", "ĠĠ", "7"}));
  EXPECT_EQ(*t->Decode(*t->Encode("hello  7")), "hello  7");
  // The pre-token cache must not change results on repeats.
  EXPECT_EQ(Tokens(*t, "hello hello"), (std::vector<std::string>{"hello", "Ġ", "hello"}));
}

TEST(BpeTokenizerTest, IgnoreMergesTakesWholeWordsFromVocab) {
  json j = TinyTokenizer({{"a", "b"}});
  j["model"]["vocab"]["abc"] = 300;  // reachable only through ignore_merges
  j["model"]["ignore_merges"] = true;
  auto t = Make(j);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "abc"), (std::vector<std::string>{"abc"}));
  EXPECT_EQ(Tokens(*t, "abd"), (std::vector<std::string>{"ab", "d"}));
}

TEST(BpeTokenizerTest, SplitBehaviors) {
  auto with_split = [](const std::string& behavior, bool invert) {
    json j = TinyTokenizer({});
    j["pre_tokenizer"]["pretokenizers"][0] = {
        {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
    return j;
  };
  // Without merges every byte is a token, so decode(encode(x)) shows what the split kept.
  auto words = [](const Tokenizer& t, const std::string& text) { return t.Decode(*t.Encode(text)).value(); };
  for (const char* b : {"Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"}) {
    auto t = Make(with_split(b, false));
    ASSERT_NE(t, nullptr) << b;
    EXPECT_EQ(words(*t, "the-final--countdown"), "the-final--countdown") << b;
  }
  auto removed = Make(with_split("Removed", false));
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(words(*removed, "the-final--countdown"), "thefinalcountdown");
  auto inverted = Make(with_split("Removed", true));
  ASSERT_NE(inverted, nullptr);
  EXPECT_EQ(words(*inverted, "the-final--countdown"), "---");
}

TEST(BpeTokenizerTest, SplitPiecesBoundMerges) {
  // With MergedWithNext, "-" joins the following piece, so the (-, a) merge can apply; with
  // MergedWithPrevious it cannot.
  json j = TinyTokenizer({{"-", "a"}, {"a", "-"}});
  j["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "MergedWithNext"}};
  auto next = Make(j);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(Tokens(*next, "b-a"), (std::vector<std::string>{"b", "-a"}));
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "MergedWithPrevious";
  auto prev = Make(j);
  ASSERT_NE(prev, nullptr);
  EXPECT_EQ(Tokens(*prev, "b-a"), (std::vector<std::string>{"b", "-", "a"}));
  EXPECT_EQ(Tokens(*prev, "a-b"), (std::vector<std::string>{"a-", "b"}));
}

TEST(BpeTokenizerTest, ByteLevelWithGpt2RegexAndPrefixSpace) {
  json j = TinyTokenizer({{"Ġ", "h"}, {"Ġh", "i"}});
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  auto t = Make(j);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Tokens(*t, "hi hi"), (std::vector<std::string>{"Ġhi", "Ġhi"}));
}

TEST(BpeTokenizerTest, AddedTokensLongestFirstWithStripOptions) {
  json j = TinyTokenizer({});
  j["added_tokens"] = json::array({
      {{"id", 1000}, {"content", "<|a|>"}, {"special", true}, {"normalized", false}},
      {{"id", 1001}, {"content", "<|a|>x"}, {"special", true}, {"normalized", false}},
      {{"id", 1002}, {"content", "[S]"}, {"special", false}, {"lstrip", true}, {"rstrip", true}, {"normalized", false}},
      {{"id", 1003}, {"content", "cat"}, {"special", false}, {"single_word", true}, {"normalized", true}},
  });
  auto t = Make(j);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(*t->Encode("<|a|>x<|a|>"), (std::vector<TokenId>{1001, 1000}));
  EXPECT_EQ(*t->Encode("q  [S]  r"), (std::vector<TokenId>{'q', 1002, 'r'}));
  EXPECT_EQ(*t->Encode("cat"), (std::vector<TokenId>{1003}));
  EXPECT_EQ(t->Encode("cats")->size(), 4u);  // not a whole word: plain bytes
  EXPECT_TRUE(t->IsSpecial(1000));
  EXPECT_FALSE(t->IsSpecial(1002));
  EXPECT_EQ(*t->Decode(std::vector<TokenId>{1000, 'q', 1002}, /*skip_special_tokens=*/true), "q[S]");
}

TEST(BpeTokenizerTest, NfcNormalizerAndTemplatePostProcessor) {
  json j = TinyTokenizer({});
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFC"}}})}};
  j["added_tokens"].push_back({{"id", 1001}, {"content", "<s>"}, {"special", true}, {"normalized", false}});
  j["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       json::array({{{"type", "ByteLevel"}},
                    {{"type", "TemplateProcessing"},
                     {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                             {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                     {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1001}}, {"tokens", {"<s>"}}}}}}}})}};
  auto t = Make(j);
  ASSERT_NE(t, nullptr);
  // e + combining acute -> é (C3 A9): two byte tokens instead of three.
  EXPECT_EQ(*t->Encode("e\xCC\x81"), (std::vector<TokenId>{0xC3, 0xA9}));
  EXPECT_EQ(*t->Encode("x", /*add_special_tokens=*/true), (std::vector<TokenId>{1001, *t->TokenToId("x")}));
}

TEST(BpeTokenizerErrorsTest, NotJson) {
  Status s = LoadError(json::parse("null"));
  EXPECT_FALSE(s.ok());
  auto t = LoadTokenizerFromJson("{\"model\": ");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsInvalidArgument());
  EXPECT_NE(t.status().message().find("not valid JSON"), std::string::npos) << t.status();
}

void ExpectError(const json& j, StatusCode code, const std::string& needle) {
  Status s = LoadError(j);
  ASSERT_FALSE(s.ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(s.message().find(needle), std::string::npos) << s;
}

TEST(BpeTokenizerErrorsTest, MalformedAndUnsupportedFields) {
  const json good = TinyTokenizer({{"a", "b"}});
  ASSERT_TRUE(LoadError(good).ok()) << LoadError(good);
  json j;

  j = good; j.erase("model");
  ExpectError(j, StatusCode::kInvalidArgument, "model");
  j = good; j["model"]["type"] = "WordPiece";
  ExpectError(j, StatusCode::kUnimplemented, "WordPiece");
  j = good; j["model"]["type"] = 7;
  ExpectError(j, StatusCode::kInvalidArgument, "model.type");
  j = good; j["model"]["vocab"] = json::array();
  ExpectError(j, StatusCode::kInvalidArgument, "model.vocab");
  j = good; j["model"]["vocab"]["zzz"] = "seven";
  ExpectError(j, StatusCode::kInvalidArgument, "zzz");
  j = good; j["model"]["vocab"]["zzz"] = -3;
  ExpectError(j, StatusCode::kInvalidArgument, "out of range");
  j = good; j["model"]["vocab"]["zzz"] = 5;
  ExpectError(j, StatusCode::kInvalidArgument, "id 5 is used by both");
  j = good; j["model"]["vocab"].erase("a");
  ExpectError(j, StatusCode::kInvalidArgument, "model.merges[0]");
  j = good; j["model"]["vocab"].erase(ByteSymbol(' '));
  ExpectError(j, StatusCode::kInvalidArgument, "byte-level symbol");
  j = good; j["model"]["merges"] = json::array({"a b c"});
  ExpectError(j, StatusCode::kInvalidArgument, "model.merges[0]");
  j = good; j["model"]["merges"] = json::array({"x y"});  // "xy" not in vocab
  ExpectError(j, StatusCode::kInvalidArgument, "merged token \"xy\"");
  j = good; j["model"]["merges"] = json::array({42});
  ExpectError(j, StatusCode::kInvalidArgument, "model.merges[0]");
  j = good; j["model"]["dropout"] = 0.1;
  ExpectError(j, StatusCode::kUnimplemented, "dropout");
  j = good; j["model"]["continuing_subword_prefix"] = "##";
  ExpectError(j, StatusCode::kUnimplemented, "continuing_subword_prefix");
  j = good; j["added_tokens"][0]["id"] = "x";
  ExpectError(j, StatusCode::kInvalidArgument, "added_tokens[0]");
  j = good; j["added_tokens"][0]["id"] = 97;  // id of "a" with another content
  ExpectError(j, StatusCode::kInvalidArgument, "added_tokens[0]");
  j = good; j["normalizer"] = {{"type", "NFKC"}};
  ExpectError(j, StatusCode::kUnimplemented, "normalizer");
  j = good; j["pre_tokenizer"] = {{"type", "Metaspace"}};
  ExpectError(j, StatusCode::kUnimplemented, "Metaspace");
  j = good; j["pre_tokenizer"] = nullptr;
  ExpectError(j, StatusCode::kUnimplemented, "pre_tokenizer");
  j = good; j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  ExpectError(j, StatusCode::kInvalidArgument, "pre_tokenizer.pretokenizers[0].pattern.Regex");
  j = good; j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
  ExpectError(j, StatusCode::kInvalidArgument, "Sideways");
  j = good; std::swap(j["pre_tokenizer"]["pretokenizers"][0], j["pre_tokenizer"]["pretokenizers"][1]);
  ExpectError(j, StatusCode::kUnimplemented, "after the ByteLevel");
  j = good; j["pre_tokenizer"] = j["pre_tokenizer"]["pretokenizers"][0];
  ExpectError(j, StatusCode::kUnimplemented, "no ByteLevel");
  j = good; j["decoder"] = {{"type", "WordPiece"}};
  ExpectError(j, StatusCode::kUnimplemented, "decoder");
  j = good; j["post_processor"] = {{"type", "BertProcessing"}};
  ExpectError(j, StatusCode::kUnimplemented, "post_processor");
  j = good; j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", json::array({{{"SpecialToken", {{"id", "<nope>"}}}}})}};
  ExpectError(j, StatusCode::kInvalidArgument, "<nope>");
}

TEST(BpeTokenizerErrorsTest, TokenizerConfigErrors) {
  const std::string good = TinyTokenizer({}).dump();
  auto t = LoadTokenizerFromJson(good, "{\"eos_token\": \"<|missing|>\"}");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("eos_token"), std::string::npos) << t.status();
  t = LoadTokenizerFromJson(good, "{not json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tokenizer_config.json"), std::string::npos) << t.status();
  t = LoadTokenizerFromJson(good, R"({"eos_token": {"content": "<|end|>"}, "pad_token": null})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->eos_id(), 1000);
  EXPECT_FALSE((*t)->pad_id().has_value());
}

TEST(BpeTokenizerErrorsTest, UnknownModelTypeFromLoader) {
  json j = TinyTokenizer({});
  j["model"]["type"] = "Unigram";
  ExpectError(j, StatusCode::kUnimplemented, "Unigram");
}

}  // namespace
}  // namespace scorch::model
