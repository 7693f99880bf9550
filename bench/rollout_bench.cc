// rollout_bench: throughput of the rollout Generator (KV-cache decoding + per-request
// sampling + stop checks) on the tiny and ~100M example configs, and continuous vs static
// batching on a length-skewed workload.
//
//   decode: B requests with 32-token prompts, all slots busy; tokens/s counts generated
//           tokens of the timed decode steps (prefill excluded). Baseline in the same run: the
//           bare model step (ForwardIncremental + argmax, no sampling or bookkeeping), so
//           `generator_overhead` is the fraction of time the rollout machinery adds.
//   skewed: N requests with 8-token prompts, 1 in 8 asks for 8x more new tokens than the rest (seeded shuffle),
//           greedy, run through 16 slots with continuous batching (a freed slot is refilled
//           at the next step) and with static batching (a new batch starts only when the whole
//           batch is done). Reports wall-clock tokens/s, steps and slot occupancy of each.
// Usage: rollout_bench [--out FILE] [--quick] [--threads N]   (--quick: tiny model only;
//        N: LibTorch intra-op threads, default all CPUs)
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "scorch/model/char_tokenizer.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"
#include "scorch/model/torch_runtime.h"
#include "scorch/model/unicode.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/step_model.h"

namespace {

using scorch::model::ModelConfig;
using scorch::model::Policy;
using scorch::rollout::GenerationRequest;
using scorch::rollout::Generator;
using scorch::rollout::GeneratorOptions;
using scorch::rollout::PolicyStepModel;
using scorch::rollout::PolicyStepModelOptions;

constexpr int64_t kPrompt = 32;      // decode rows: prompt tokens per request
constexpr int64_t kSkewPrompt = 8;   // skewed workload: short prompts, so decoding dominates

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A character tokenizer with exactly `vocab` ids (4 specials, then code points from U+0100),
// so every id the model samples decodes.
std::unique_ptr<scorch::model::CharTokenizer> TokenizerFor(int64_t vocab) {
  std::string chars;
  for (int64_t i = 0; i < vocab - 4; ++i) scorch::model::unicode::AppendUtf8(static_cast<char32_t>(0x100 + i), &chars);
  auto tok = scorch::model::CharTokenizer::Create({"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"}, chars,
                                                  scorch::model::CharTokenizer::Roles{"<|im_end|>", "<|pad|>", ""});
  if (!tok.ok()) {
    std::fprintf(stderr, "tokenizer: %s\n", tok.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*tok);
}

GenerationRequest Request(uint64_t id, int64_t vocab, int64_t max_new, std::mt19937_64& rng,
                          int64_t prompt_len = kPrompt) {
  GenerationRequest r;
  r.id = id;
  for (int64_t t = 0; t < prompt_len; ++t) r.prompt.push_back(static_cast<int32_t>(4 + rng() % static_cast<uint64_t>(vocab - 4)));
  r.sampling.temperature = 0.0;
  r.max_new_tokens = max_new;  // no stop tokens: every request runs to its length
  return r;
}

nlohmann::json BenchDecode(const std::string& name, const ModelConfig& c, Policy policy,
                           const scorch::model::Tokenizer& tok, int64_t steps) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t batch : {1, 8, 32, 64}) {
    PolicyStepModelOptions o;
    o.num_slots = batch;
    o.max_seq_len = kPrompt + steps + 8;
    std::mt19937_64 rng(static_cast<uint64_t>(batch));
    // Generator: prefill step + (steps) decode steps; time only the decode steps.
    PolicyStepModel model(policy, o);
    Generator gen(model, tok);
    for (int64_t b = 0; b < batch; ++b) gen.Submit(Request(static_cast<uint64_t>(b), c.vocab_size, steps + 3, rng));
    (void)gen.Step();  // prefill
    (void)gen.Step();  // warm-up
    const double t0 = Now();
    int64_t tokens = 0;
    for (int64_t s = 0; s < steps; ++s) {
      (void)gen.Step();
      tokens += batch;
    }
    const double gen_secs = Now() - t0;
    (void)gen.RunToCompletion();
    // Baseline: the bare model decode step over the same cache shape.
    scorch::model::KvCache cache(c, scorch::model::KvCacheOptions{batch, kPrompt + steps + 8});
    std::vector<int64_t> slots(static_cast<size_t>(batch));
    for (int64_t b = 0; b < batch; ++b) slots[static_cast<size_t>(b)] = b;
    torch::NoGradGuard ng;
    auto opts = scorch::model::ForwardOptions{scorch::model::LogitsMode::kLast, {}};
    auto out = policy->ForwardIncremental(torch::randint(4, c.vocab_size, {batch, kPrompt}, torch::kInt64), {}, slots,
                                          cache, opts);
    auto next = out.logits.argmax(-1, true);
    const double b0 = Now();
    for (int64_t s = 0; s < steps; ++s) {
      out = policy->ForwardIncremental(next, {}, slots, cache, opts);
      next = out.logits.argmax(-1, true);
    }
    const double base_secs = Now() - b0;
    const double tps = static_cast<double>(tokens) / gen_secs;
    const double base_tps = static_cast<double>(batch * steps) / base_secs;
    std::printf("  %-6s decode B=%-3lld %10.0f tok/s  (bare model step %10.0f tok/s; overhead %.1f%%)\n",
                name.c_str(), static_cast<long long>(batch), tps, base_tps, 100.0 * (1.0 - tps / base_tps));
    std::fflush(stdout);
    rows.push_back({{"batch", batch}, {"steps", steps}, {"tokens_per_s", tps}, {"bare_model_tokens_per_s", base_tps},
                    {"generator_overhead", 1.0 - tps / base_tps}});
  }
  return rows;
}

nlohmann::json BenchSkewed(const std::string& name, const ModelConfig& c, Policy policy,
                           const scorch::model::Tokenizer& tok, int64_t requests, int64_t short_len) {
  nlohmann::json out;
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < requests; ++i) lengths.push_back(i % 8 == 0 ? 8 * short_len : short_len);
  std::shuffle(lengths.begin(), lengths.end(), std::mt19937_64(7));
  double tps[2] = {0, 0};
  for (int mode = 0; mode < 2; ++mode) {
    const bool continuous = mode == 0;
    PolicyStepModelOptions o;
    o.num_slots = 16;
    o.max_seq_len = kSkewPrompt + 8 * short_len + 8;
    PolicyStepModel model(policy, o);
    Generator gen(model, tok, GeneratorOptions{continuous});
    std::mt19937_64 rng(11);
    for (int64_t i = 0; i < requests; ++i) gen.Submit(Request(static_cast<uint64_t>(i), c.vocab_size, lengths[static_cast<size_t>(i)], rng, kSkewPrompt));
    const double t0 = Now();
    auto results = gen.RunToCompletion();
    const double secs = Now() - t0;
    int64_t tokens = 0;
    for (const auto& r : results) tokens += static_cast<int64_t>(r.tokens.size());
    const auto& st = gen.stats();
    tps[mode] = static_cast<double>(tokens) / secs;
    const double occupancy = static_cast<double>(st.slot_steps) / static_cast<double>(st.steps * 16);
    std::printf("  %-6s skewed %-10s %8.0f tok/s  %5lld steps  occupancy %.2f  (%lld tokens, %.2f s)\n",
                name.c_str(), continuous ? "continuous" : "static", tps[mode], static_cast<long long>(st.steps),
                occupancy, static_cast<long long>(tokens), secs);
    std::fflush(stdout);
    out[continuous ? "continuous" : "static"] = {{"tokens_per_s", tps[mode]}, {"steps", st.steps},
                                                 {"slot_occupancy", occupancy}, {"tokens", tokens}, {"seconds", secs}};
  }
  out["requests"] = requests;
  out["slots"] = 16;
  out["short_len"] = short_len;
  out["long_len"] = 8 * short_len;
  out["speedup"] = tps[0] / tps[1];
  std::printf("  %-6s continuous / static = %.2fx (target >= 2x)\n", name.c_str(), tps[0] / tps[1]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path;
  bool quick = false;
  int requested_threads = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out_path = argv[++i];
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      requested_threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--out FILE] [--quick] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  const int threads = scorch::model::ConfigureTorchThreads(requested_threads);
  const double peak = scorch::model::MeasureMatmulGflops();
  std::printf("rollout_bench: %d threads, matmul peak %.1f GFLOP/s\n", threads, peak);
  nlohmann::json result = {{"threads", threads}, {"matmul_peak_gflops", peak}, {"models", nlohmann::json::array()}};
  std::vector<std::string> names = {"tiny"};
  if (!quick) names.push_back("small-100m");
  for (const auto& name : names) {
    const std::string path = std::string(SCORCH_SOURCE_DIR) + "/configs/models/" + name + ".json";
    auto config = scorch::model::LoadModelConfig(path);
    if (!config.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), config.status().ToString().c_str());
      return 1;
    }
    Policy policy(*config);
    scorch::model::InitializeWeights(*policy, config->initializer_range, 0);
    policy->eval();
    auto tok = TokenizerFor(config->vocab_size);
    const bool big = name != "tiny";
    std::printf("\n%s: %.1fM parameters\n", name.c_str(), static_cast<double>(config->ParameterCount()) / 1e6);
    nlohmann::json m = {{"model", name}, {"parameters", config->ParameterCount()}};
    m["decode"] = BenchDecode(name, *config, policy, *tok, big ? 8 : 32);
    m["skewed"] = BenchSkewed(name, *config, policy, *tok, big ? 32 : 64, big ? 6 : 16);
    result["models"].push_back(m);
  }
  if (!out_path.empty()) {
    std::ofstream f(out_path);
    f << result.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", out_path.c_str());
      return 1;
    }
  }
  return 0;
}
