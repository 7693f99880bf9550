// model_bench: forward and incremental-decode throughput of the policy transformer for the
// tiny (~1M) and small (~100M) example configs at batch 1, 8 and 32, against the machine's
// dense float32 matmul peak measured first in the same run.
//
//   forward: B x 128 tokens, full causal forward, logits for every position (no grad).
//   decode:  prefill a 32-token (100M: 16) prompt per row and 2 warm-up steps, then 32 (100M: 8) timed
//            single-token steps through the KV cache (logits of the last token); tokens/s
//            counts generated tokens only. Baseline: the step's weight matmuls alone.
// Achieved GFLOP/s counts 2 x (parameters used in matmuls, i.e. all but the embedding
// lookup; a tied lm_head counts once) x tokens plus attention, 4 x B x H x D x T x S x L
// (QK^T and PV over the computed score matrix), and is reported as a fraction of the peak.
// Usage: model_bench [--out FILE] [--seconds S]  (S: minimum timed seconds per point)
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/model/kv_cache.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"
#include "scorch/model/torch_runtime.h"

namespace {

using scorch::model::ForwardOptions;
using scorch::model::KvCache;
using scorch::model::KvCacheOptions;
using scorch::model::LogitsMode;
using scorch::model::ModelConfig;
using scorch::model::Policy;

constexpr int64_t kForwardSeq = 128;
constexpr int64_t kPrompt = 32;
constexpr int64_t kDecodeSteps = 32;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t MatmulParams(const ModelConfig& c) {
  const int64_t embed = c.vocab_size * c.hidden_size;
  // Tied: the embedding matrix is used once, as lm_head. Untied: the lookup is not a matmul.
  return c.ParameterCount() - (c.tie_word_embeddings ? 0 : embed);
}

double AttentionFlops(const ModelConfig& c, int64_t batch, int64_t queries, int64_t keys) {
  return 4.0 * static_cast<double>(batch) * static_cast<double>(c.num_attention_heads * c.head_dim) *
         static_cast<double>(queries) * static_cast<double>(keys) * static_cast<double>(c.num_hidden_layers);
}

nlohmann::json BenchModel(const std::string& name, const ModelConfig& c, double peak, double min_seconds) {
  Policy policy(c);
  scorch::model::InitializeWeights(*policy, c.initializer_range, 0);
  policy->eval();
  torch::NoGradGuard no_grad;
  const int64_t params = scorch::model::CountParameters(*policy);
  const double mm_params = static_cast<double>(MatmulParams(c));
  nlohmann::json out = {{"model", name}, {"parameters", params}, {"forward", nlohmann::json::array()},
                        {"decode", nlohmann::json::array()}};
  std::printf("\n%s: %.2fM parameters (%d layers, d=%lld, vocab %lld)\n", name.c_str(), params / 1e6,
              static_cast<int>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.vocab_size));
  const bool big = min_seconds <= 0.0;  // the 100M model: one timed run per point
  // Forward warm-up once (allocator, BLAS thread pool), then each batch size.
  (void)policy->forward(torch::randint(0, c.vocab_size, {1, kForwardSeq}, torch::kInt64));
  for (int64_t batch : {1, 8, 32}) {
    auto ids = torch::randint(0, c.vocab_size, {batch, kForwardSeq}, torch::kInt64);
    if (!big) (void)policy->forward(ids);
    int reps = 0;
    const double start = Now();
    double secs = 0;
    do {
      (void)policy->forward(ids);
      ++reps;
      secs = Now() - start;
    } while (secs < min_seconds);
    const double tokens = static_cast<double>(batch * kForwardSeq) * reps;
    const double flops = (2.0 * mm_params * batch * kForwardSeq +
                          AttentionFlops(c, batch, kForwardSeq, kForwardSeq)) * reps;
    const double gflops = flops / secs / 1e9;
    std::printf("  forward  B=%-3lld T=%lld  %10.0f tok/s  %7.1f GFLOP/s  %.2f of peak\n",
                static_cast<long long>(batch), static_cast<long long>(kForwardSeq), tokens / secs, gflops,
                gflops / peak);
    std::fflush(stdout);
    out["forward"].push_back({{"batch", batch}, {"seq_len", kForwardSeq}, {"tokens_per_s", tokens / secs},
                              {"gflops", gflops}, {"fraction_of_peak", gflops / peak}, {"reps", reps}});
  }
  const int64_t steps = big ? kDecodeSteps / 4 : kDecodeSteps;
  const int64_t prompt_len = big ? kPrompt / 2 : kPrompt;
  for (int64_t batch : {1, 8, 32}) {
    KvCache cache(c, KvCacheOptions{batch, prompt_len + steps + 4});
    std::vector<int64_t> slots(static_cast<size_t>(batch));
    for (int64_t b = 0; b < batch; ++b) slots[static_cast<size_t>(b)] = b;
    auto prompt = torch::randint(0, c.vocab_size, {batch, prompt_len}, torch::kInt64);
    // Prefill (not timed) and two warm-up steps, then `steps` timed greedy steps per run.
    auto run_once = [&]() -> double {
      cache.ResetAll();
      auto o = policy->ForwardIncremental(prompt, {}, slots, cache, ForwardOptions{LogitsMode::kLast, {}});
      auto next = o.logits.argmax(-1, true);
      for (int w = 0; w < 2; ++w) {
        o = policy->ForwardIncremental(next, {}, slots, cache, ForwardOptions{LogitsMode::kLast, {}});
        next = o.logits.argmax(-1, true);
      }
      const double t0 = Now();
      for (int64_t s = 0; s < steps; ++s) {
        o = policy->ForwardIncremental(next, {}, slots, cache, ForwardOptions{LogitsMode::kLast, {}});
        next = o.logits.argmax(-1, true);  // feed back real tokens
      }
      return Now() - t0;
    };
    double decode_secs = 0;
    int reps = 0;
    const double start = Now();
    do {
      decode_secs += run_once();
      ++reps;
    } while (Now() - start < min_seconds);
    // Baseline in the same run: the same step's weight matmuls alone (x (B,in) times every
    // 2-D weight once), i.e. what a decode step costs with zero framework overhead.
    std::vector<std::pair<torch::Tensor, torch::Tensor>> mats;
    for (const auto& p : policy->parameters()) {
      if (p.dim() == 2 && p.size(0) != c.vocab_size) mats.emplace_back(torch::randn({batch, p.size(1)}), p);
    }
    mats.emplace_back(torch::randn({batch, c.hidden_size}), policy->OutputWeight());
    auto matmuls = [&] {
      for (auto& [x, w] : mats) (void)torch::linear(x, w);
    };
    matmuls();
    const double m0 = Now();
    for (int64_t s = 0; s < steps; ++s) matmuls();
    const double matmul_ms = 1e3 * (Now() - m0) / static_cast<double>(steps);
    const double tokens = static_cast<double>(batch * steps) * reps;
    double flops = 0;
    for (int64_t s = 0; s < steps; ++s) flops += 2.0 * mm_params * batch + AttentionFlops(c, batch, 1, prompt_len + 3 + s);
    flops *= reps;
    const double gflops = flops / decode_secs / 1e9;
    const double ms_step = 1e3 * decode_secs / static_cast<double>(reps * steps);
    std::printf("  decode   B=%-3lld          %10.0f tok/s  %7.1f GFLOP/s  %.2f of peak  (%.1f ms/step; "
                "weight matmuls alone %.1f ms)\n",
                static_cast<long long>(batch), tokens / decode_secs, gflops, gflops / peak, ms_step, matmul_ms);
    std::fflush(stdout);
    out["decode"].push_back({{"batch", batch}, {"prompt_len", prompt_len}, {"steps", steps},
                             {"tokens_per_s", tokens / decode_secs}, {"gflops", gflops},
                             {"fraction_of_peak", gflops / peak}, {"ms_per_step", ms_step},
                             {"matmul_only_ms_per_step", matmul_ms}, {"reps", reps}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path;
  double min_seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out_path = argv[++i];
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      min_seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--out FILE] [--seconds S]\n", argv[0]);
      return 2;
    }
  }
  const int threads = scorch::model::ConfigureTorchThreads();
  const double bench_start = Now();
  const double peak = scorch::model::MeasureMatmulGflops(1024, 1.0);
  std::printf("model_bench: %d threads, BLAS %s\n", threads, scorch::model::BlasLibraryInUse().c_str());
  std::printf("dense float32 matmul peak (1024^3): %.1f GFLOP/s\n", peak);
  nlohmann::json result = {{"threads", threads}, {"blas", scorch::model::BlasLibraryInUse()},
                           {"matmul_gflops", peak}, {"models", nlohmann::json::array()}};
  for (const char* name : {"tiny", "small-100m"}) {
    const std::string path = std::string(SCORCH_SOURCE_DIR) + "/configs/models/" + name + ".json";
    auto config = scorch::model::LoadModelConfig(path);
    if (!config.ok()) {
      std::fprintf(stderr, "model_bench: %s\n", config.status().ToString().c_str());
      return 1;
    }
    // The 100M model's batch-32 forward alone is ~0.8 TFLOP: time it once after warm-up.
    result["models"].push_back(BenchModel(name, *config, peak, std::string(name) == "tiny" ? min_seconds : 0.0));
  }
  // The peak again at the end: the machine is shared, so report both and judge with the mean.
  const double peak_end = scorch::model::MeasureMatmulGflops(1024, 1.0);
  result["matmul_gflops_end"] = peak_end;
  result["seconds"] = Now() - bench_start;
  std::printf("\nmatmul peak at end: %.1f GFLOP/s; total %.0f s\n", peak_end, Now() - bench_start);
  if (!out_path.empty()) {
    std::ofstream f(out_path);
    f << result.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "model_bench: cannot write %s\n", out_path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", out_path.c_str());
  }
  return 0;
}
