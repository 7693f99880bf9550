// rollout_bench: throughput of the rollout Generator (KV-cache decoding + per-request
// sampling + stop checks) on the tiny and ~100M example configs, and continuous vs static
// batching on a length-skewed workload.
//
//   decode: B requests with 32-token prompts, all slots busy; tokens/s counts generated
//           tokens of the timed decode steps (prefill excluded). Baseline in the same run: the
//           bare model step (ForwardIncremental + argmax, no sampling or bookkeeping), so
//           `generator_overhead` is the fraction of time the rollout machinery adds.
//           `matmul_only_ms_per_step` times just the weight matmuls of one decode step (every
//           linear layer and the LM head on a (B, hidden) input), so `non_matmul_fraction`
//           is the share of the step spent elsewhere (attention over the cache, norms, RoPE,
//           cache writes, op overhead).
//   skewed: N requests with 8-token prompts, 1 in 8 asks for 8x more new tokens than the rest
//           (seeded shuffle), greedy, no stop tokens, run through 16 slots three ways on the
//           same model and the same tokens:
//             continuous        a freed slot is refilled at the next step;
//             static            classic fixed batches: 16 requests start together and the
//                               batch keeps its shape until its longest member is done
//                               (finished rows are still computed, their output unused);
//             static_compacted  fixed batches, but finished rows leave the step (a stronger
//                               baseline than classic static batching; reported for honesty).
//           Reports tokens/s, steps, slot occupancy; `speedup` = continuous / static.
// Timing: every figure is given as wall-clock AND as process CPU time. The bench host is a
// small machine shared with other jobs, where wall time swings 2x run to run; with one
// compute thread (the default) CPU time is what the work itself costs, so the headline
// tokens_per_s fields use CPU time and *_wall fields keep the wall clock.
// Usage: rollout_bench [--out FILE] [--quick] [--threads N]   (--quick: tiny model only;
//        N: LibTorch intra-op threads AND OpenBLAS threads, default 1)
#include <torch/torch.h>

#include <algorithm>
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
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

double CpuNow() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Wall and CPU seconds of a region.
struct Timer {
  double wall0 = Now(), cpu0 = CpuNow();
  double Wall() const { return Now() - wall0; }
  double Cpu() const { return CpuNow() - cpu0; }
};

// OpenBLAS (pthreads build) keeps its own thread pool, which torch::set_num_threads does not
// size; on a loaded 2-core host its spinning threads double the cost of a step. Pin it to the
// same count when LibTorch's BLAS is OpenBLAS. Returns false when the symbol is absent.
bool SetBlasThreads(int n) {
  using Fn = void (*)(int);
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn == nullptr) return false;
  fn(n);
  return true;
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

// Seconds per call of the weight matmuls of one decode step at batch B: every linear layer
// (all its 2-D parameters except the embedding) plus the LM head, on a (B, hidden) input.
double MatmulOnlySeconds(Policy& policy, const ModelConfig& c, int64_t batch, int reps) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> weights;
  for (const auto& p : policy->named_parameters()) {
    if (p.value().dim() == 2 && p.key().find("embed_tokens") == std::string::npos) weights.push_back(p.value());
  }
  weights.push_back(policy->OutputWeight());
  std::vector<torch::Tensor> inputs;
  for (const auto& w : weights) inputs.push_back(torch::randn({batch, w.size(1)}));
  (void)c;
  for (size_t i = 0; i < weights.size(); ++i) (void)torch::linear(inputs[i], weights[i]);  // warm-up
  Timer t;
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < weights.size(); ++i) (void)torch::linear(inputs[i], weights[i]);
  }
  return t.Cpu() / reps;
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
    Timer t;
    int64_t tokens = 0;
    for (int64_t s = 0; s < steps; ++s) {
      (void)gen.Step();
      tokens += batch;
    }
    const double gen_cpu = t.Cpu(), gen_wall = t.Wall();
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
    Timer bt;
    for (int64_t s = 0; s < steps; ++s) {
      out = policy->ForwardIncremental(next, {}, slots, cache, opts);
      next = out.logits.argmax(-1, true);
    }
    const double base_cpu = bt.Cpu();
    const double mm = MatmulOnlySeconds(policy, c, batch, static_cast<int>(std::max<int64_t>(2, steps / 2)));
    const double tps = static_cast<double>(tokens) / gen_cpu;
    const double base_tps = static_cast<double>(batch * steps) / base_cpu;
    const double step_ms = 1000.0 * base_cpu / static_cast<double>(steps);
    std::printf("  %-6s decode B=%-3lld %9.0f tok/s  (bare model step %9.0f tok/s = %7.2f ms, matmuls alone %7.2f ms;"
                " generator overhead %.1f%%; wall %.0f tok/s)\n",
                name.c_str(), static_cast<long long>(batch), tps, base_tps, step_ms, 1000.0 * mm,
                100.0 * (1.0 - tps / base_tps), static_cast<double>(tokens) / gen_wall);
    std::fflush(stdout);
    rows.push_back({{"batch", batch},
                    {"steps", steps},
                    {"tokens_per_s", tps},
                    {"tokens_per_s_wall", static_cast<double>(tokens) / gen_wall},
                    {"bare_model_tokens_per_s", base_tps},
                    {"bare_model_ms_per_step", step_ms},
                    {"matmul_only_ms_per_step", 1000.0 * mm},
                    {"non_matmul_fraction", 1.0 - 1000.0 * mm / step_ms},
                    {"generator_overhead", 1.0 - tps / base_tps}});
  }
  return rows;
}

nlohmann::json BenchSkewed(const std::string& name, const ModelConfig& c, Policy policy,
                           const scorch::model::Tokenizer& tok, int64_t requests, int64_t short_len) {
  constexpr int64_t kSlots = 16;
  nlohmann::json out;
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < requests; ++i) lengths.push_back(i % 8 == 0 ? 8 * short_len : short_len);
  std::shuffle(lengths.begin(), lengths.end(), std::mt19937_64(7));
  struct Mode {
    const char* name;
    bool continuous;
    bool fixed_shape;
  };
  const Mode modes[] = {{"continuous", true, false}, {"static", false, true}, {"static_compacted", false, false}};
  std::map<std::string, double> tps;
  std::vector<std::vector<int32_t>> reference;  // continuous mode's tokens by request id
  for (const Mode& mode : modes) {
    PolicyStepModelOptions o;
    o.num_slots = kSlots;
    o.max_seq_len = kSkewPrompt + 8 * short_len + 8;
    PolicyStepModel model(policy, o);
    Generator gen(model, tok, GeneratorOptions{mode.continuous, mode.fixed_shape});
    std::mt19937_64 rng(11);
    for (int64_t i = 0; i < requests; ++i) gen.Submit(Request(static_cast<uint64_t>(i), c.vocab_size, lengths[static_cast<size_t>(i)], rng, kSkewPrompt));
    Timer t;
    auto results = gen.RunToCompletion();
    const double cpu = t.Cpu(), wall = t.Wall();
    int64_t tokens = 0;
    std::vector<std::vector<int32_t>> by_id(static_cast<size_t>(requests));
    for (auto& r : results) {
      tokens += static_cast<int64_t>(r.tokens.size());
      by_id.at(r.id) = r.tokens;
    }
    // Same model, same tokens: every mode must generate exactly what continuous generated.
    if (reference.empty()) {
      reference = by_id;
    } else if (by_id != reference) {
      std::fprintf(stderr, "%s: %s generated different tokens than continuous batching\n", name.c_str(), mode.name);
      std::exit(1);
    }
    const auto& st = gen.stats();
    tps[mode.name] = static_cast<double>(tokens) / cpu;
    const double occupancy = static_cast<double>(st.slot_steps) / static_cast<double>(st.steps * kSlots);
    std::printf("  %-6s skewed %-16s %8.0f tok/s  %5lld steps  occupancy %.2f  padding rows %5lld  (%lld tokens, "
                "%.2f s cpu, %.2f s wall)\n",
                name.c_str(), mode.name, tps[mode.name], static_cast<long long>(st.steps), occupancy,
                static_cast<long long>(st.padding_rows), static_cast<long long>(tokens), cpu, wall);
    std::fflush(stdout);
    out[mode.name] = {{"tokens_per_s", tps[mode.name]},
                      {"tokens_per_s_wall", static_cast<double>(tokens) / wall},
                      {"steps", st.steps},
                      {"slot_occupancy", occupancy},
                      {"padding_rows", st.padding_rows},
                      {"tokens", tokens},
                      {"cpu_seconds", cpu},
                      {"wall_seconds", wall}};
  }
  out["requests"] = requests;
  out["slots"] = kSlots;
  out["short_len"] = short_len;
  out["long_len"] = 8 * short_len;
  out["speedup"] = tps["continuous"] / tps["static"];
  out["speedup_vs_static_compacted"] = tps["continuous"] / tps["static_compacted"];
  std::printf("  %-6s continuous / static = %.2fx (target >= 2x); continuous / static_compacted = %.2fx\n",
              name.c_str(), tps["continuous"] / tps["static"], tps["continuous"] / tps["static_compacted"]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path;
  bool quick = false;
  int requested_threads = 1;
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
  const bool blas_pinned = SetBlasThreads(threads);
  const double peak = scorch::model::MeasureMatmulGflops();
  std::printf("rollout_bench: %d threads (OpenBLAS pinned: %s), matmul peak %.1f GFLOP/s\n", threads,
              blas_pinned ? "yes" : "no", peak);
  nlohmann::json result = {{"threads", threads},
                           {"openblas_threads_pinned", blas_pinned},
                           {"timing", "tokens_per_s: process CPU time; *_wall: wall clock"},
                           {"matmul_peak_gflops", peak},
                           {"models", nlohmann::json::array()}};
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
    m["skewed"] = BenchSkewed(name, *config, policy, *tok, big ? 48 : 64, big ? 6 : 16);
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
