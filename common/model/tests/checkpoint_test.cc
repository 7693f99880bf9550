// Model directories: save -> load gives bit-identical logits (tied and untied, single file
// and sharded), BF16 round trip, critic from a policy checkpoint, and clear errors for a
// missing tensor, wrong shape, wrong dtype, unsupported architecture, truncated weights and
// a hostile index file.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "scorch/model/checkpoint.h"
#include "scorch/model/policy.h"

namespace scorch::model {
namespace {

namespace fs = std::filesystem;

ModelConfig Tiny(bool tie) {
  ModelConfig c;
  c.vocab_size = 61;
  c.hidden_size = 24;
  c.intermediate_size = 40;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 6;
  c.attention_bias = true;
  c.tie_word_embeddings = tie;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  EXPECT_TRUE(c.Validate().ok());
  return c;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/scorch_ckpt_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Sub(const std::string& name) const { return dir_ + "/" + name; }

  static torch::Tensor Logits(Policy& p) {
    torch::NoGradGuard g;
    auto ids = torch::arange(0, 24, torch::kInt64).remainder(61).view({2, 12});
    return p->forward(ids).logits;
  }
  static void WriteText(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }

  std::string dir_;
};

TEST_F(CheckpointTest, SaveLoadIsBitExact) {
  for (bool tie : {true, false}) {
    auto c = Tiny(tie);
    Policy p(c);
    InitializeWeights(*p, 0.1, 42);
    const std::string out = Sub(tie ? "tied" : "untied");
    ASSERT_TRUE(SaveModelDir(*p, c, out).ok());
    EXPECT_TRUE(fs::exists(out + "/config.json"));
    EXPECT_TRUE(fs::exists(out + "/generation_config.json"));
    EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
    auto loaded = LoadPolicy(out);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(torch::equal(Logits(p), Logits(*loaded)));
    auto f = SafetensorsFile::Open(out + "/model.safetensors");
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->Find("lm_head.weight") != nullptr, !tie);
    EXPECT_NE((*f)->Find("model.layers.1.self_attn.v_proj.bias"), nullptr);
  }
}

TEST_F(CheckpointTest, ShardedEqualsUnsharded) {
  auto c = Tiny(false);
  Policy p(c);
  InitializeWeights(*p, 0.1, 9);
  ASSERT_TRUE(SaveModelDir(*p, c, Sub("single")).ok());
  SaveOptions opts;
  opts.max_shard_bytes = 8000;
  ASSERT_TRUE(SaveModelDir(*p, c, Sub("sharded"), opts).ok());
  EXPECT_TRUE(fs::exists(Sub("sharded/model.safetensors.index.json")));
  EXPECT_FALSE(fs::exists(Sub("sharded/model.safetensors")));
  auto info = InspectModelDir(Sub("sharded"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_GT(info->shards.size(), 2u);
  EXPECT_EQ(info->num_parameters, c.ParameterCount());
  EXPECT_EQ(info->dtypes.at("F32"), info->num_tensors);
  auto a = LoadPolicy(Sub("single"));
  auto b = LoadPolicy(Sub("sharded"));
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_TRUE(torch::equal(Logits(*a), Logits(*b)));
  EXPECT_TRUE(torch::equal(Logits(p), Logits(*b)));
  // Re-saving unsharded into the same directory removes the shards and the index.
  ASSERT_TRUE(SaveModelDir(*p, c, Sub("sharded")).ok());
  EXPECT_FALSE(fs::exists(Sub("sharded/model.safetensors.index.json")));
  EXPECT_FALSE(fs::exists(Sub("sharded/model-00001-of-00003.safetensors")));
  EXPECT_TRUE(LoadPolicy(Sub("sharded")).ok());
}

TEST_F(CheckpointTest, HalfPrecisionSaveConvertsOnLoad) {
  auto c = Tiny(true);
  Policy p(c);
  InitializeWeights(*p, 0.1, 3);
  SaveOptions opts;
  opts.dtype = torch::kBFloat16;
  ASSERT_TRUE(SaveModelDir(*p, c, Sub("bf16"), opts).ok());
  auto cfg = LoadModelConfig(Sub("bf16/config.json"));
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->torch_dtype, "bfloat16");
  auto q = LoadPolicy(Sub("bf16"));
  ASSERT_TRUE(q.ok()) << q.status();
  auto w = p->model->embed_tokens->weight;
  auto got = (*q)->model->embed_tokens->weight;
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(got, w.to(torch::kBFloat16).to(torch::kFloat32)));
}

TEST_F(CheckpointTest, TokenizerFilesAreCopiedThrough) {
  auto c = Tiny(true);
  Policy p(c);
  fs::create_directories(Sub("tok"));
  WriteText(Sub("tok/tokenizer.json"), "{\"model\":{}}");
  WriteText(Sub("tok/tokenizer_config.json"), "{}");
  SaveOptions opts;
  opts.tokenizer_dir = Sub("tok");
  ASSERT_TRUE(SaveModelDir(*p, c, Sub("m"), opts).ok());
  EXPECT_TRUE(fs::exists(Sub("m/tokenizer.json")));
  auto info = InspectModelDir(Sub("m"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tokenizer_files.size(), 2u);
}

TEST_F(CheckpointTest, CriticLoadsBackboneFromPolicyCheckpoint) {
  auto c = Tiny(true);
  Policy p(c);
  InitializeWeights(*p, 0.1, 4);
  ASSERT_TRUE(SaveModelDir(*p, c, Sub("pol")).ok());
  auto critic = LoadCritic(Sub("pol"));
  ASSERT_TRUE(critic.ok()) << critic.status();
  EXPECT_TRUE(torch::equal((*critic)->model->norm->weight, p->model->norm->weight));
  EXPECT_EQ((*critic)->value_head->weight.abs().sum().item<float>(), 0.0f);
  // A saved critic round-trips including its head.
  {
    torch::NoGradGuard g;
    (*critic)->value_head->weight.fill_(0.5);
  }
  ASSERT_TRUE(SaveModelDir(**critic, c, Sub("crit")).ok());
  auto again = LoadCritic(Sub("crit"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(torch::equal((*again)->value_head->weight, (*critic)->value_head->weight));
}

TEST_F(CheckpointTest, ErrorsNameTheProblem) {
  auto c = Tiny(false);
  Policy p(c);
  ASSERT_TRUE(SaveModelDir(*p, c, Sub("good")).ok());
  EXPECT_TRUE(LoadPolicy(Sub("absent")).status().IsNotFound());

  // Missing tensor.
  fs::copy(Sub("good"), Sub("missing"));
  {
    std::vector<std::pair<std::string, torch::Tensor>> ts;
    for (auto& item : p->named_parameters()) {
      if (item.key() != "model.layers.1.mlp.up_proj.weight") ts.emplace_back(item.key(), item.value());
    }
    ASSERT_TRUE(WriteSafetensors(Sub("missing/model.safetensors"), ts).ok());
    auto s = LoadPolicy(Sub("missing")).status();
    EXPECT_TRUE(s.IsNotFound()) << s;
    EXPECT_NE(s.message().find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << s;
  }
  // Wrong shape: weights of a wider model under this config.
  {
    auto wide = c;
    wide.intermediate_size = 48;
    Policy w(wide);
    ASSERT_TRUE(SaveModelDir(*w, wide, Sub("wide")).ok());
    auto cfg = c.ToJson().dump();
    WriteText(Sub("wide/config.json"), cfg);
    auto s = LoadPolicy(Sub("wide")).status();
    EXPECT_TRUE(s.IsInvalidArgument()) << s;
    EXPECT_NE(s.message().find("shape"), std::string::npos) << s;
  }
  // Wrong dtype: an integer tensor where a weight belongs.
  fs::copy(Sub("good"), Sub("intw"));
  {
    std::vector<std::pair<std::string, torch::Tensor>> ts;
    for (auto& item : p->named_parameters()) {
      auto t = item.value();
      if (item.key() == "model.norm.weight") t = t.to(torch::kInt64);
      ts.emplace_back(item.key(), t);
    }
    ASSERT_TRUE(WriteSafetensors(Sub("intw/model.safetensors"), ts).ok());
    auto s = LoadPolicy(Sub("intw")).status();
    EXPECT_TRUE(s.IsInvalidArgument()) << s;
    EXPECT_NE(s.message().find("I64"), std::string::npos) << s;
  }
  // Unsupported architecture.
  fs::copy(Sub("good"), Sub("gpt2"));
  {
    auto j = c.ToJson();
    j["architectures"] = {"GPT2LMHeadModel"};
    j.erase("model_type");
    WriteText(Sub("gpt2/config.json"), j.dump());
    EXPECT_EQ(LoadPolicy(Sub("gpt2")).status().code(), StatusCode::kUnimplemented);
  }
  // Truncated weights file.
  fs::copy(Sub("good"), Sub("trunc"));
  fs::resize_file(Sub("trunc/model.safetensors"), fs::file_size(Sub("trunc/model.safetensors")) - 100);
  EXPECT_TRUE(LoadPolicy(Sub("trunc")).status().IsDataLoss());
  // No weights at all.
  fs::create_directories(Sub("noweights"));
  fs::copy_file(Sub("good/config.json"), Sub("noweights/config.json"));
  EXPECT_TRUE(LoadPolicy(Sub("noweights")).status().IsNotFound());
  // Hostile or broken index files.
  fs::copy(Sub("good"), Sub("index"));
  WriteText(Sub("index/model.safetensors.index.json"),
            R"({"weight_map":{"model.norm.weight":"../good/model.safetensors"}})");
  EXPECT_TRUE(LoadPolicy(Sub("index")).status().IsInvalidArgument());
  WriteText(Sub("index/model.safetensors.index.json"), R"({"weight_map":{"model.norm.weight":"gone.safetensors"}})");
  EXPECT_TRUE(LoadPolicy(Sub("index")).status().IsNotFound());
  WriteText(Sub("index/model.safetensors.index.json"), "{oops");
  EXPECT_TRUE(LoadPolicy(Sub("index")).status().IsInvalidArgument());
  WriteText(Sub("index/model.safetensors.index.json"), R"({"weight_map":{"model.norm.weight":"model.safetensors"}})");
  EXPECT_TRUE(LoadPolicy(Sub("index")).status().IsNotFound());  // index lists only one tensor
  // Strict mode rejects unexpected tensors; default ignores them.
  {
    std::vector<std::pair<std::string, torch::Tensor>> ts;
    for (auto& item : p->named_parameters()) ts.emplace_back(item.key(), item.value());
    ts.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", torch::ones({3}));
    fs::copy(Sub("good"), Sub("extra"));
    ASSERT_TRUE(WriteSafetensors(Sub("extra/model.safetensors"), ts).ok());
    Policy q(c);
    EXPECT_TRUE(LoadWeights(*q, Sub("extra")).ok());
    LoadOptions strict;
    strict.allow_unexpected = false;
    EXPECT_TRUE(LoadWeights(*q, Sub("extra"), strict).IsInvalidArgument());
  }
}

}  // namespace
}  // namespace scorch::model
