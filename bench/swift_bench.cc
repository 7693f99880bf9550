// swift_bench: what scoring a Best-of-N candidate with the SWIFT head costs (ALGORITHMS §5),
// against scoring it with a full extra forward pass (a separate reward model of the policy's
// size, or SWIFT computed after the fact), on the quickstart's tiny model.
//
// Workload: N = 8 candidates of one 40-token prompt, 64 generated tokens each (no stop token),
// sampled at temperature 1 through the real Generator over a PolicyStepModel.
//   generate         the 8 candidates without a head (baseline, same run)
//   generate_swift   the same 8 candidates with the head installed (every layer's hidden
//                    state, D = (L+1)·d): the states come from the decode steps themselves;
//                    added cost per candidate = (generate_swift − generate) / N
//   head_only        the head's Linear(D, 2) on already computed features, per candidate
//   full_forward     one extra forward of each candidate (prompt + response) with the hidden
//                    states requested, plus the head: what scoring costs without in-generation
//                    capture, per candidate
// Each figure is the median of several repetitions (CPU time of this process; the host is
// shared, see rollout_bench.cc). Writes --out (default bench/results/swift.json).
// Usage: swift_bench [--out FILE] [--reps N] [--threads N]
#include <torch/torch.h>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/model/char_tokenizer.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"
#include "scorch/model/swift_head.h"
#include "scorch/model/torch_runtime.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/step_model.h"

namespace {

using namespace scorch;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

constexpr int kCandidates = 8;
constexpr int kPromptTokens = 40;
constexpr int kNewTokens = 64;

std::vector<rollout::GenerationResult> Generate(rollout::PolicyStepModel& step, const model::Tokenizer& tok,
                                                const std::vector<model::TokenId>& prompt, uint64_t seed) {
  rollout::Generator g(step, tok);
  for (int i = 0; i < kCandidates; ++i) {
    rollout::GenerationRequest r;
    r.id = static_cast<uint64_t>(i);
    r.prompt = prompt;
    r.sampling = model::SamplingParams{1.0, 0, 1.0, seed + static_cast<uint64_t>(i)};
    r.max_new_tokens = kNewTokens;  // no stop tokens: every candidate has the same length
    g.Submit(r);
  }
  return g.RunToCompletion();
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "bench/results/swift.json";
  int reps = 9;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out_path = argv[++i];
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--out FILE] [--reps N] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  model::ConfigureTorchThreads(threads);
  auto mc = model::LoadModelConfig(std::string(SCORCH_SOURCE_DIR) + "/configs/models/tiny.json");
  if (!mc.ok()) {
    std::fprintf(stderr, "swift_bench: %s\n", mc.status().ToString().c_str());
    return 1;
  }
  model::Policy policy(*mc);
  model::InitializeWeights(*policy, mc->initializer_range, 7);
  policy->eval();
  auto tok = model::CharTokenizer::CreateDefault();
  std::vector<model::TokenId> prompt;
  for (int i = 0; i < kPromptTokens; ++i) prompt.push_back(static_cast<model::TokenId>(10 + (i * 7) % 60));

  model::SwiftHeadConfig cfg;  // every hidden state, no norm, gated: the paper's default
  rollout::ScoreHead head;
  head.config = cfg;
  head.head = model::SwiftHead(model::SwiftInputDim(cfg, *mc), cfg.gate);
  {
    torch::NoGradGuard g;
    head.head->linear->weight.normal_(0.0, 0.02);
  }
  head.head->eval();

  rollout::PolicyStepModelOptions so;
  so.num_slots = kCandidates;
  so.max_seq_len = 256;
  rollout::PolicyStepModel plain(policy, so);
  rollout::PolicyStepModel scored(policy, so);
  scored.SetScoreHead(head);

  std::vector<double> gen, gen_swift, head_only, full;
  torch::NoGradGuard no_grad;
  for (int rep = 0; rep < reps + 1; ++rep) {  // the first repetition warms up and is dropped
    // Alternate which runs first, so warm caches favour neither.
    const uint64_t seed = 100 * static_cast<uint64_t>(rep);
    std::vector<rollout::GenerationResult> b;
    double plain_s = 0, scored_s = 0;
    for (int order = 0; order < 2; ++order) {
      const bool run_scored = (order == 0) == (rep % 2 == 1);
      const double s0 = CpuSeconds();
      auto r = Generate(run_scored ? scored : plain, *tok, prompt, seed);
      (run_scored ? scored_s : plain_s) = CpuSeconds() - s0;
      if (run_scored) b = std::move(r);
    }
    // One extra forward per candidate (batched, as a reward model would run them).
    std::vector<int64_t> ids;
    for (const auto& r : b) {
      ids.insert(ids.end(), prompt.begin(), prompt.end());
      ids.insert(ids.end(), r.tokens.begin(), r.tokens.end() - 1);
    }
    const int64_t T = kPromptTokens + kNewTokens - 1;
    auto input = torch::tensor(ids, torch::kInt64).view({kCandidates, T});
    double t3 = CpuSeconds();
    auto feats = model::SwiftFeatures(policy, cfg, input, torch::Tensor());
    auto mask = torch::zeros({kCandidates, T}, torch::kInt64);
    mask.narrow(1, kPromptTokens - 1, kNewTokens).fill_(1);
    auto scores = head.head->forward(feats, mask).score;
    double t4 = CpuSeconds();
    auto again = head.head->forward(feats, mask).score;
    double t5 = CpuSeconds();
    if (rep == 0) continue;
    gen.push_back(plain_s);
    gen_swift.push_back(scored_s);
    full.push_back(t4 - t3);
    head_only.push_back(t5 - t4);
    if (scores.numel() != kCandidates || again.numel() != kCandidates) return 1;
  }
  const double per = 1e3 / kCandidates;
  nlohmann::json out;
  out["model"] = "configs/models/tiny.json";
  out["parameters"] = model::CountParameters(*policy);
  out["head_parameters"] = model::CountParameters(*head.head);
  out["feature_dim"] = model::SwiftInputDim(cfg, *mc);
  out["candidates"] = kCandidates;
  out["prompt_tokens"] = kPromptTokens;
  out["new_tokens"] = kNewTokens;
  out["threads"] = threads;
  out["repetitions"] = reps;
  out["ms_per_candidate"] = {
      {"generate", per * Median(gen)},
      {"generate_swift", per * Median(gen_swift)},
      {"swift_added_in_generation", per * (Median(gen_swift) - Median(gen))},
      {"head_only", per * Median(head_only)},
      {"full_extra_forward_with_head", per * Median(full)},
  };
  out["swift_added_over_full_forward"] = (Median(gen_swift) - Median(gen)) / Median(full);
  std::filesystem::create_directories(std::filesystem::path(out_path).parent_path());
  std::ofstream(out_path) << out.dump(2) << "\n";
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
