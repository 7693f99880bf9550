// learner_bench: the learner's figures for issue #6, each against a baseline measured in the
// same run. Two modes:
//
//  (default) one process, writes --out (bench/results/learner.json):
//   * train: SFT training steps (forward + next-token loss + backward + AdamW step with
//     clipping) on random tokens for configs/models/tiny.json and small-100m.json. Reports
//     tokens/s, the split of a step into forward/backward/optimiser, and achieved GFLOP/s as
//     a fraction of the float32 matmul peak (scorch::model::MeasureMatmulGflops, measured at
//     the start and the end of the run). Model FLOPs per step = 6 x (parameters used in
//     matmuls; a tied lm_head counts once) x tokens + attention 12 x B x H x D x T^2 x L
//     (QK^T and PV over the full score matrix, forward 4x, backward 8x).
//   * one_thread: the train figures again with one intra-op thread (when running with more),
//     against the one-thread matmul peak.
//   * bf16_autocast (one thread): float32 vs bfloat16 1024^3 matmul, a Linear's forward +
//     backward and the tiny model's training step with and without CPU autocast
//     (learner/precision.h) — the evidence for refusing bf16 on CPU.
//   * weight_publish (100M model): write the state dict as a Hugging Face model dir
//     (safetensors, fsync, rename: model::SaveModelDir) and load it back into a second
//     replica (model::LoadWeights); baseline = an in-memory clone of every parameter. Where
//     the tree has scorch/model/weight_exchange.h, also PublishWeights/ApplyWeights over
//     its "file" and "shared" transports.
//
//  --allreduce, under `mpirun -np 2` (bench/run_all.sh folds its --out into learner.json):
//   * MPI all-reduce (float32 SUM) of one message of 4 KiB ... 256 MiB through our
//     Communicator's MPI backend and through raw MPI_Allreduce (the baseline), and of the
//     100M model's gradient list (bucketed, 32 MiB buckets) vs one raw all-reduce of the same
//     bytes. algbw = bytes / time, busbw = algbw x 2(n-1)/n (nccl-tests' definition); time
//     = median of 5 rounds (alternating raw and Communicator, so other load hits both) of
//     the slowest rank's mean per call.
//
// Usage: learner_bench [--out FILE] [--seconds S] [--threads N]  (N: intra-op threads, 0 = all CPUs)
//        mpirun -np 2 learner_bench --allreduce [--out FILE] [--max-mib M]
#include <torch/torch.h>

#ifdef SCORCH_HAVE_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/learner/communicator.h"
#include "scorch/learner/losses.h"
#include "scorch/learner/optimizer.h"
#include "scorch/learner/precision.h"
#include "scorch/model/checkpoint.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"
#include "scorch/model/torch_runtime.h"
// The learner's weight publishing (PublishWeights/ApplyWeights) is measured when present.
#if __has_include("scorch/model/weight_exchange.h")
#include "scorch/model/weight_exchange.h"
#define SCORCH_BENCH_HAVE_WEIGHT_EXCHANGE 1
#else
#define SCORCH_BENCH_HAVE_WEIGHT_EXCHANGE 0
#endif

namespace {

namespace fs = std::filesystem;
using scorch::model::ModelConfig;
using scorch::model::Policy;
using nlohmann::json;

constexpr int64_t kSeqLen = 256;

// The 1-minute load average: the machine is shared, so every result records how busy it was.
double LoadAverage() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "learner_bench: %s\n", what.c_str());
  std::exit(1);
}

ModelConfig LoadConfig(const std::string& name) {
  const std::string path = std::string(SCORCH_SOURCE_DIR) + "/configs/models/" + name + ".json";
  auto config = scorch::model::LoadModelConfig(path);
  if (!config.ok()) Die(config.status().ToString());
  return *config;
}

int64_t MatmulParams(const ModelConfig& c) {
  const int64_t embed = c.vocab_size * c.hidden_size;
  // Tied: the embedding matrix is used once, as lm_head. Untied: the lookup is not a matmul.
  return c.ParameterCount() - (c.tie_word_embeddings ? 0 : embed);
}

double TrainFlops(const ModelConfig& c, int64_t batch, int64_t seq) {
  const double tokens = static_cast<double>(batch * seq);
  const double attention = 12.0 * static_cast<double>(batch) *
                           static_cast<double>(c.num_attention_heads * c.head_dim) * static_cast<double>(seq) *
                           static_cast<double>(seq) * static_cast<double>(c.num_hidden_layers);
  return 6.0 * static_cast<double>(MatmulParams(c)) * tokens + attention;
}

// ---- training steps ----------------------------------------------------------------------

struct StepTimes {
  double forward = 0, backward = 0, optimizer = 0;
  double total() const { return forward + backward + optimizer; }
};

class SftTrainer {
 public:
  SftTrainer(const ModelConfig& c, int64_t batch, int64_t seq) : config_(c), policy_(c) {
    scorch::model::InitializeWeights(*policy_, c.initializer_range, 0);
    policy_->train();
    scorch::learner::OptimizerConfig oc;
    oc.lr = 1e-5;
    oc.max_grad_norm = 1.0;
    auto opt = scorch::learner::Optimizer::Create(policy_->parameters(), oc);
    if (!opt.ok()) Die(opt.status().ToString());
    optimizer_ = std::move(opt).value();
    ids_ = torch::randint(0, c.vocab_size, {batch, seq}, torch::kInt64);
    mask_ = torch::ones({batch, seq});
    mask_.select(1, 0).zero_();  // position 0 has no prediction
  }

  StepTimes Step(scorch::learner::ComputePrecision precision = scorch::learner::ComputePrecision::kFloat32) {
    StepTimes t;
    double t0 = Now();
    scorch::learner::LossResult loss;
    {
      scorch::learner::AutocastScope autocast(precision, torch::kCPU);
      auto logits = policy_->forward(ids_).logits;
      auto logp = scorch::learner::TokenLogProbs(logits.to(torch::kFloat), ids_);
      if (!logp.ok()) Die(logp.status().ToString());
      auto l = scorch::learner::SftLoss(*logp, mask_);
      if (!l.ok()) Die(l.status().ToString());
      loss = std::move(l).value();
    }
    double t1 = Now();
    loss.loss.backward();
    double t2 = Now();
    auto step = optimizer_->Step();
    if (!step.ok()) Die(step.status().ToString());
    double t3 = Now();
    t.forward = t1 - t0;
    t.backward = t2 - t1;
    t.optimizer = t3 - t2;
    last_loss_ = loss.stats.loss;
    return t;
  }

  Policy& policy() { return policy_; }
  double last_loss() const { return last_loss_; }

 private:
  ModelConfig config_;
  Policy policy_;
  std::unique_ptr<scorch::learner::Optimizer> optimizer_;
  torch::Tensor ids_, mask_;
  double last_loss_ = 0;
};

// Runs one warm-up step, then timed steps until `min_seconds` have passed and at least
// `min_steps` ran.
json BenchTrain(const std::string& name, int64_t batch, double peak, double min_seconds, int min_steps) {
  const ModelConfig c = LoadConfig(name);
  SftTrainer trainer(c, batch, kSeqLen);
  const int64_t params = scorch::model::CountParameters(*trainer.policy());
  (void)trainer.Step();
  StepTimes sum;
  int steps = 0;
  const double start = Now();
  do {
    StepTimes t = trainer.Step();
    sum.forward += t.forward;
    sum.backward += t.backward;
    sum.optimizer += t.optimizer;
    ++steps;
  } while (steps < min_steps || Now() - start < min_seconds);
  const double secs = sum.total();
  const double tokens = static_cast<double>(batch * kSeqLen) * steps;
  const double gflops = TrainFlops(c, batch, kSeqLen) * steps / secs / 1e9;
  std::printf("  train %-10s %7.2fM params  B=%lld T=%lld  %8.0f tok/s  %.2f s/step (fwd %.2f, bwd %.2f, "
              "adamw %.2f)  %6.1f GFLOP/s = %.2f of peak  (loss %.3f, %d steps)\n",
              name.c_str(), params / 1e6, static_cast<long long>(batch), static_cast<long long>(kSeqLen),
              tokens / secs, secs / steps, sum.forward / steps, sum.backward / steps, sum.optimizer / steps, gflops,
              gflops / peak, trainer.last_loss(), steps);
  std::fflush(stdout);
  return {{"model", name},
          {"parameters", params},
          {"batch", batch},
          {"seq_len", kSeqLen},
          {"steps", steps},
          {"tokens_per_s", tokens / secs},
          {"seconds_per_step", secs / steps},
          {"forward_s", sum.forward / steps},
          {"backward_s", sum.backward / steps},
          {"optimizer_s", sum.optimizer / steps},
          {"model_flops_per_step", TrainFlops(c, batch, kSeqLen)},
          {"gflops", gflops},
          {"fraction_of_peak", gflops / peak}};
}

double MatmulGflops(torch::Dtype dtype, double seconds) {
  auto a = torch::randn({1024, 1024}).to(dtype);
  auto b = torch::randn({1024, 1024}).to(dtype);
  (void)torch::mm(a, b);
  int n = 0;
  const double start = Now();
  do {
    (void)torch::mm(a, b);
    ++n;
  } while (Now() - start < seconds);
  return 2.0 * 1024.0 * 1024.0 * 1024.0 * n / (Now() - start) / 1e9;
}

// Mean GFLOP/s of forward + backward of a 2048x512 -> 512 Linear (6 x 2048 x 512 x 512 flops).
double LinearTrainGflops(scorch::learner::ComputePrecision precision, double seconds) {
  torch::nn::Linear lin(512, 512);
  auto x = torch::randn({2048, 512});
  auto step = [&] {
    scorch::learner::AutocastScope autocast(precision, torch::kCPU);
    lin(x).to(torch::kFloat).sum().backward();
  };
  step();
  int n = 0;
  const double start = Now();
  do {
    step();
    ++n;
  } while (Now() - start < seconds);
  return 6.0 * 2048 * 512 * 512 * n / (Now() - start) / 1e9;
}

// Run at one intra-op thread: the comparison is of kernels, and one thread is the least
// disturbed by other load on a shared machine.
json BenchAutocast() {
  using scorch::learner::ComputePrecision;
  const int threads = torch::get_num_threads();
  scorch::model::ConfigureTorchThreads(1);
  const double f32 = MatmulGflops(torch::kFloat, 0.5);
  const double bf16 = MatmulGflops(torch::kBFloat16, 0.5);
  const double lin_f32 = LinearTrainGflops(ComputePrecision::kFloat32, 0.5);
  const double lin_bf16 = LinearTrainGflops(ComputePrecision::kBf16Autocast, 0.5);
  const ModelConfig c = LoadConfig("tiny");
  const int64_t batch = 2, seq = 128;  // bf16 steps are slow here: keep them short
  SftTrainer trainer(c, batch, seq);
  auto tok_s = [&](ComputePrecision p) {
    (void)trainer.Step(p);
    double secs = 0;
    for (int i = 0; i < 2; ++i) secs += trainer.Step(p).total();
    return 2.0 * static_cast<double>(batch * seq) / secs;
  };
  const double train_f32 = tok_s(ComputePrecision::kFloat32);
  const double train_bf16 = tok_s(ComputePrecision::kBf16Autocast);
  scorch::model::ConfigureTorchThreads(threads);
  std::printf("  bf16 (1 thread): matmul %.1f GFLOP/s vs float32 %.1f (%.1fx slower); Linear fwd+bwd under autocast "
              "%.1f vs %.1f GFLOP/s; tiny train step %.0f vs %.0f tok/s\n",
              bf16, f32, f32 / bf16, lin_bf16, lin_f32, train_bf16, train_f32);
  std::fflush(stdout);
  return {{"threads", 1},
          {"matmul_gflops_float32", f32},
          {"matmul_gflops_bfloat16", bf16},
          {"linear_fwd_bwd_gflops_float32", lin_f32},
          {"linear_fwd_bwd_gflops_bf16_autocast", lin_bf16},
          {"tiny_train_tokens_per_s_float32", train_f32},
          {"tiny_train_tokens_per_s_bf16_autocast", train_bf16},
          {"tiny_batch", batch},
          {"tiny_seq_len", seq},
          {"note", "LibTorch 1.13 CPU, no native bf16 matmul on this CPU: precision.compute=bf16 is refused on CPU "
                   "(learner/precision.h) unless allow_cpu_bf16"}};
}

json BenchPublish(double min_seconds) {
  const ModelConfig c = LoadConfig("small-100m");
  Policy src(c), dst(c);
  scorch::model::InitializeWeights(*src, c.initializer_range, 1);
  torch::NoGradGuard no_grad;
  int64_t bytes = 0;
  for (const auto& p : src->parameters()) bytes += p.numel() * static_cast<int64_t>(p.element_size());
  const fs::path dir = fs::temp_directory_path() / ("scorch_learner_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);

  // Baseline: clone every parameter in memory (what a same-process publish costs at least).
  auto clone_all = [&] {
    std::vector<torch::Tensor> copies;
    for (const auto& p : src->parameters()) copies.push_back(p.detach().clone());
    return copies.size();
  };
  (void)clone_all();
  double clone_s = 0, save_s = 0, load_s = 0;
  int reps = 0;
  const double start = Now();
  do {
    double t0 = Now();
    (void)clone_all();
    double t1 = Now();
    auto saved = scorch::model::SaveModelDir(*src, c, dir.string());
    if (!saved.ok()) Die(saved.ToString());
    double t2 = Now();
    auto loaded = scorch::model::LoadWeights(*dst, dir.string());
    if (!loaded.ok()) Die(loaded.ToString());
    double t3 = Now();
    clone_s += t1 - t0;
    save_s += t2 - t1;
    load_s += t3 - t2;
    ++reps;
  } while (reps < 2 || Now() - start < min_seconds);
  // The round trip must be exact (float32 on disk).
  auto ps = src->named_parameters();
  for (const auto& item : dst->named_parameters()) {
    if (!torch::equal(item.value(), ps[item.key()])) Die("weight publish round trip differs at " + item.key());
  }
  json exchange = nullptr;
#if SCORCH_BENCH_HAVE_WEIGHT_EXCHANGE
  // The learner's publish path (scorch/model/weight_exchange.h), when this tree has it:
  // "file" = safetensors + fsync + rename + sha256, applied after checking the checksum;
  // "shared" = an in-process snapshot (clone) applied by copy.
  exchange = json::object();
  for (auto transport : {scorch::proto::WeightsTransport::kFile, scorch::proto::WeightsTransport::kShared}) {
    scorch::model::WeightPublishOptions po;
    po.transport = transport;
    po.channel = "learner_bench";
    po.dir = (dir / "publish").string();
    double publish_s = 0, apply_s = 0;
    const int xreps = 2;
    for (int64_t version = 1; version <= xreps; ++version) {
      const double t0 = Now();
      auto announce = scorch::model::PublishWeights(*src, version, po);
      if (!announce.ok()) Die(announce.status().ToString());
      const double t1 = Now();
      auto applied = scorch::model::ApplyWeights(*announce, *dst);
      if (!applied.ok()) Die(applied.ToString());
      publish_s += t1 - t0;
      apply_s += Now() - t1;
    }
    scorch::model::ClearSharedWeights(po.channel);
    const std::string name = transport == scorch::proto::WeightsTransport::kFile ? "file" : "shared";
    exchange[name] = {{"publish_s", publish_s / xreps}, {"apply_s", apply_s / xreps}, {"reps", xreps}};
    std::printf("  weight_exchange %-6s: PublishWeights %.3f s, ApplyWeights %.3f s\n", name.c_str(),
                publish_s / xreps, apply_s / xreps);
  }
#endif
  fs::remove_all(dir);
  clone_s /= reps;
  save_s /= reps;
  load_s /= reps;
  const double gb = static_cast<double>(bytes) / 1e9;
  std::printf("  publish small-100m (%.0f MB f32): save+fsync %.3f s (%.2f GB/s), load %.3f s (%.2f GB/s); "
              "in-memory clone %.3f s (%.2f GB/s)\n",
              bytes / 1e6, save_s, gb / save_s, load_s, gb / load_s, clone_s, gb / clone_s);
  std::fflush(stdout);
  return {{"model", "small-100m"},
          {"bytes", bytes},
          {"reps", reps},
          {"save_fsync_s", save_s},
          {"load_s", load_s},
          {"publish_roundtrip_s", save_s + load_s},
          {"clone_baseline_s", clone_s},
          {"save_gb_per_s", gb / save_s},
          {"load_gb_per_s", gb / load_s},
          {"clone_gb_per_s", gb / clone_s},
          {"path", "model::SaveModelDir (safetensors, fsync, rename) + model::LoadWeights; load hits the page cache"},
          {"weight_exchange", exchange}};
}

// ---- MPI all-reduce ------------------------------------------------------------------------

#ifdef SCORCH_HAVE_MPI
// Mean seconds per call over `reps` calls, of the slowest rank.
template <typename F>
double TimeCollective(int reps, F&& call) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double start = MPI_Wtime();
  for (int i = 0; i < reps; ++i) call();
  double mine = (MPI_Wtime() - start) / reps, slowest = 0;
  MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

struct Trials {
  double median = 0, best = 0;
};

// One warm-up call each, then `trials` rounds alternating a and b (so a busy neighbour
// slows both alike); per round the mean of `reps` calls. Returns the median and best round.
template <typename A, typename B>
std::pair<Trials, Trials> CompareCollectives(int trials, int reps, A&& a, B&& b) {
  a();
  b();
  std::vector<double> ta, tb;
  for (int i = 0; i < trials; ++i) {
    ta.push_back(TimeCollective(reps, a));
    tb.push_back(TimeCollective(reps, b));
  }
  auto summarise = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return Trials{v[v.size() / 2], v.front()};
  };
  return {summarise(ta), summarise(tb)};
}

json BenchAllReduce(int64_t max_bytes) {
  using scorch::learner::ReduceOp;
  scorch::learner::CommunicatorConfig cc;
  cc.backend = "mpi";
  cc.timeout = std::chrono::seconds(120);
  auto created = scorch::learner::CreateCommunicator(cc);
  if (!created.ok()) Die(created.status().ToString());
  auto comm = std::move(created).value();
  const int n = comm->size(), rank = comm->rank();
  if (n < 2) Die("--allreduce needs at least 2 ranks (run it under mpirun -np 2)");
  const double bus_factor = 2.0 * (n - 1) / n;
  constexpr int kTrials = 5;
  auto busbw = [&](int64_t bytes, double secs) { return static_cast<double>(bytes) / secs / 1e9 * bus_factor; };
  json sizes = json::array();
  if (rank == 0) {
    std::printf("learner_bench --allreduce: %d ranks, float32 SUM; per size %d rounds alternating raw and "
                "Communicator; time = median round (slowest rank's mean per call)\n",
                n, kTrials);
    std::printf("  %10s  %5s  %12s %14s  %12s %14s\n", "bytes", "reps", "raw us", "raw busbw", "comm us", "comm busbw");
  }
  for (int64_t bytes = 4 << 10; bytes <= max_bytes; bytes *= 4) {
    const int64_t numel = bytes / 4;
    const int reps = static_cast<int>(std::clamp<int64_t>((int64_t{64} << 20) / bytes, 1, 100));
    auto raw = torch::full({numel}, 1.0f);
    std::vector<torch::Tensor> t = {torch::full({numel}, 1.0f)};
    auto [raw_t, comm_t] = CompareCollectives(
        kTrials, reps,
        [&] {
          MPI_Allreduce(MPI_IN_PLACE, raw.data_ptr(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        },
        [&] {
          auto s = comm->AllReduce(t, ReduceOp::kSum);
          if (!s.ok()) Die(s.ToString());
        });
    if (rank == 0) {
      std::printf("  %10lld  %5d  %12.1f %9.2f GB/s  %12.1f %9.2f GB/s\n", static_cast<long long>(bytes), reps,
                  raw_t.median * 1e6, busbw(bytes, raw_t.median), comm_t.median * 1e6, busbw(bytes, comm_t.median));
      std::fflush(stdout);
    }
    sizes.push_back({{"bytes", bytes},
                     {"reps_per_round", reps},
                     {"raw_mpi_us", raw_t.median * 1e6},
                     {"raw_mpi_best_us", raw_t.best * 1e6},
                     {"raw_mpi_algbw_gb_s", static_cast<double>(bytes) / raw_t.median / 1e9},
                     {"raw_mpi_busbw_gb_s", busbw(bytes, raw_t.median)},
                     {"communicator_us", comm_t.median * 1e6},
                     {"communicator_best_us", comm_t.best * 1e6},
                     {"communicator_algbw_gb_s", static_cast<double>(bytes) / comm_t.median / 1e9},
                     {"communicator_busbw_gb_s", busbw(bytes, comm_t.median)}});
  }

  // The 100M model's gradients as the learner reduces them (one tensor per parameter,
  // 32 MiB buckets) vs one raw all-reduce of a flat buffer of the same bytes.
  const ModelConfig c = LoadConfig("small-100m");
  std::vector<torch::Tensor> grads;
  int64_t grad_bytes = 0;
  {
    Policy policy(c);
    for (const auto& p : policy->parameters()) {
      grads.push_back(torch::full(p.sizes(), 1.0f));
      grad_bytes += p.numel() * 4;
    }
  }
  auto flat = torch::full({grad_bytes / 4}, 1.0f);
  auto [flat_t, grads_t] = CompareCollectives(
      3, 1,
      [&] {
        MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr(), static_cast<int>(flat.numel()), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
      },
      [&] {
        auto s = comm->AllReduce(grads, ReduceOp::kSum);
        if (!s.ok()) Die(s.ToString());
      });
  if (rank == 0) {
    std::printf("  100M gradients: %zu tensors, %.0f MB: Communicator (32 MiB buckets) %.3f s (busbw %.2f GB/s) vs "
                "one raw MPI_Allreduce %.3f s (busbw %.2f GB/s)\n",
                grads.size(), grad_bytes / 1e6, grads_t.median, busbw(grad_bytes, grads_t.median), flat_t.median,
                busbw(grad_bytes, flat_t.median));
  }
  return {{"ranks", n},
          {"dtype", "float32"},
          {"op", "sum"},
          {"rounds", kTrials},
          {"busbw_definition", "algbw * 2(n-1)/n, algbw = bytes / time (nccl-tests)"},
          {"time_definition", "median over rounds of the slowest rank's mean time per call; *_best_us = best round"},
          {"sizes", sizes},
          {"gradients_100m",
           {{"tensors", grads.size()},
            {"bytes", grad_bytes},
            {"bucket_bytes", cc.bucket_bytes},
            {"communicator_s", grads_t.median},
            {"communicator_busbw_gb_s", busbw(grad_bytes, grads_t.median)},
            {"raw_flat_mpi_s", flat_t.median},
            {"raw_flat_mpi_busbw_gb_s", busbw(grad_bytes, flat_t.median)}}}};
}
#endif

void WriteJson(const std::string& path, const json& doc) {
  if (path.empty()) return;
  std::ofstream f(path);
  f << doc.dump(2) << "\n";
  if (!f) Die("cannot write " + path);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path;
  double min_seconds = 2.0;
  bool allreduce = false;
  int64_t max_mib = 256;
  int threads_arg = 0;  // 0 = every online CPU
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out_path = argv[++i];
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      min_seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads_arg = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--allreduce") == 0) {
      allreduce = true;
    } else if (std::strcmp(argv[i], "--max-mib") == 0 && i + 1 < argc) {
      max_mib = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--out FILE] [--seconds S] [--threads N] | --allreduce [--out FILE] [--max-mib M]\n",
                   argv[0]);
      return 2;
    }
  }
  const double bench_start = Now();
  if (allreduce) {
#ifdef SCORCH_HAVE_MPI
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    scorch::model::ConfigureTorchThreads(1);  // the ranks share the machine's cores
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    json doc = BenchAllReduce(max_mib << 20);
    doc["seconds"] = Now() - bench_start;
    doc["load_average_end"] = LoadAverage();
    if (rank == 0) WriteJson(out_path, doc);
    MPI_Finalize();
    return 0;
#else
    (void)max_mib;
    Die("--allreduce: this build has no MPI (SCORCH_WITH_MPI=OFF)");
#endif
  }

  const int threads = scorch::model::ConfigureTorchThreads(threads_arg);
  const double peak = scorch::model::MeasureMatmulGflops(1024, 1.0);
  std::printf("learner_bench: %d threads, BLAS %s; float32 matmul peak (1024^3) %.1f GFLOP/s; load average %.1f\n",
              threads, scorch::model::BlasLibraryInUse().c_str(), peak, LoadAverage());
  json doc = {{"threads", threads},
              {"blas", scorch::model::BlasLibraryInUse()},
              {"matmul_gflops", peak},
              {"load_average_start", LoadAverage()}};
  doc["train"] = json::array();
  doc["train"].push_back(BenchTrain("tiny", 8, peak, min_seconds, 3));
  // 100M: ~10 s per 256-token step on 2 cores; one warm-up + 2 timed steps.
  doc["train"].push_back(BenchTrain("small-100m", 1, peak, 0.0, 2));
  if (threads != 1) {
    // The same at one intra-op thread, against the one-thread matmul peak: on a shared,
    // oversubscribed machine the thread pool's barriers can cost more than the second core
    // gains, and this shows it.
    scorch::model::ConfigureTorchThreads(1);
    const double peak1 = scorch::model::MeasureMatmulGflops(1024, 1.0);
    std::printf("one intra-op thread: matmul peak %.1f GFLOP/s\n", peak1);
    json one = {{"threads", 1}, {"matmul_gflops", peak1}, {"train", json::array()}};
    one["train"].push_back(BenchTrain("tiny", 8, peak1, min_seconds, 3));
    one["train"].push_back(BenchTrain("small-100m", 1, peak1, 0.0, 2));
    doc["one_thread"] = one;
    scorch::model::ConfigureTorchThreads(threads);
  }
  doc["bf16_autocast"] = BenchAutocast();
  doc["weight_publish"] = BenchPublish(min_seconds);
  const double peak_end = scorch::model::MeasureMatmulGflops(1024, 1.0);
  doc["matmul_gflops_end"] = peak_end;
  doc["load_average_end"] = LoadAverage();
  doc["seconds"] = Now() - bench_start;
  std::printf("matmul peak at end: %.1f GFLOP/s; total %.0f s\n", peak_end, Now() - bench_start);
  WriteJson(out_path, doc);
  return 0;
}
