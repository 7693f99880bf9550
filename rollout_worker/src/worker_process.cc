// RunWorkerProcess: a rollout worker built from a job config (see the header).
#include "scorch/rollout/worker_process.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "scorch/common/config/run_config.h"
#include "scorch/common/logging.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/model/checkpoint.h"
#include "scorch/model/policy.h"
#include "scorch/model/torch_runtime.h"
#include "scorch/model/weight_exchange.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/rollout_engine.h"
#include "scorch/rollout/step_model.h"

namespace scorch::rollout {
namespace {


StatusOr<std::unique_ptr<model::Tokenizer>> TokenizerOf(const config::ModelSection& m) {
  if (m.tokenizer == "char") return std::unique_ptr<model::Tokenizer>(model::CharTokenizer::CreateDefault());
  auto tok = model::LoadTokenizer(m.tokenizer);
  if (!tok.ok()) return tok.status().WithContext("model.tokenizer");
  return std::move(*tok);
}

// model.path, or model.init_config initialised with job.seed (as the embedded job does).
StatusOr<model::Policy> PolicyOf(const config::RunConfig& c) {
  if (!c.model.path.empty()) {
    auto p = model::LoadPolicy(c.model.path);
    if (!p.ok()) return p.status().WithContext("model directory " + c.model.path);
    return std::move(*p);
  }
  if (c.model.init_config.empty()) {
    return Status::InvalidArgument("model: set either path (a model directory, or --model DIR) or init_config");
  }
  auto mc = model::LoadModelConfig(c.model.init_config);
  if (!mc.ok()) return mc.status().WithContext("model.init_config");
  model::Policy p(*mc);
  model::InitializeWeights(*p, mc->initializer_range, static_cast<uint64_t>(c.job.seed));
  return p;
}

}  // namespace

Status RunWorkerProcess(const WorkerProcessOptions& o, RolloutWorkerStats* stats) {
  if (o.endpoint.empty()) return Status::InvalidArgument("no orchestrator endpoint (--connect)");
  if (o.capacity < 0) return Status::InvalidArgument("capacity must be >= 0, got " + std::to_string(o.capacity));
  if (o.rank < 0) return Status::InvalidArgument("rank must be >= 0, got " + std::to_string(o.rank));
  SCORCH_ASSIGN_OR_RETURN(config::RunConfig cfg, config::LoadRunConfig(o.config_path, o.overrides));
  if (!o.model_dir.empty()) cfg.model.path = o.model_dir;
  const int threads = model::ConfigureTorchThreads(o.threads.value_or(cfg.job.threads));

  SCORCH_ASSIGN_OR_RETURN(auto tokenizer, TokenizerOf(cfg.model));
  SCORCH_ASSIGN_OR_RETURN(model::Policy policy, PolicyOf(cfg));
  policy->eval();
  const model::ModelConfig& mc = policy->config();
  if (mc.vocab_size < tokenizer->vocab_size()) {
    return Status::InvalidArgument("model vocab_size " + std::to_string(mc.vocab_size) + " is smaller than the " +
                                   "tokenizer's " + std::to_string(tokenizer->vocab_size()));
  }
  if (cfg.rollout.max_seq_len > mc.max_position_embeddings) {
    return Status::InvalidArgument("rollout.max_seq_len " + std::to_string(cfg.rollout.max_seq_len) +
                                   " exceeds the model's max_position_embeddings " +
                                   std::to_string(mc.max_position_embeddings));
  }

  PolicyStepModelOptions so;
  so.num_slots = cfg.rollout.slots;
  so.max_seq_len = cfg.rollout.max_seq_len;
  so.dtype = policy->parameters().front().scalar_type();
  std::unique_ptr<PolicyStepModel> step;
  try {
    step = std::make_unique<PolicyStepModel>(policy, so);
  } catch (const c10::Error& e) {
    return Status::ResourceExhausted(std::string("allocating the KV cache (rollout.slots x rollout.max_seq_len): ") +
                                     e.what_without_backtrace());
  }
  Generator generator(*step, *tokenizer);
  ProtocolOptions po;
  po.max_turns = cfg.rollout.max_turns;
  po.texts = model::PromptTextsFromConfig(cfg.prompts);
  SCORCH_RETURN_IF_ERROR(po.Validate().WithContext("rollout"));
  RolloutEngine engine(generator, *tokenizer, po);

  RolloutWorkerConfig wc;
  wc.endpoint = o.endpoint;
  wc.rank = o.rank;
  wc.identity = o.identity.empty() ? "rollout-" + std::to_string(o.rank) : o.identity;
  wc.capacity = o.capacity > 0 ? o.capacity : cfg.rollout.slots;
  wc.initial_policy_version = o.policy_version;
  wc.token = o.token;
  // A third of the orchestrator's silence limit, at most a second.
  wc.heartbeat_interval = o.heartbeat_interval.value_or(std::chrono::milliseconds(
      std::clamp<int64_t>(static_cast<int64_t>(cfg.cluster.heartbeat_timeout_s * 1000.0 / 3.0), 10, 1000)));
  RolloutWorker worker(wc, engine, [&](const proto::WeightsAnnounce& a) -> Status {
    SCORCH_RETURN_IF_ERROR(model::ApplyWeights(a, *policy));
    step->SetPolicy(policy);  // same module, new values: empties the KV cache
    SCORCH_LOG(INFO) << "rollout " << o.rank << ": applied weights version " << a.version << " ("
                     << proto::WeightsTransportName(a.transport) << " " << a.location << ")";
    return Status::Ok();
  });
  worker.set_score_head_loader([&](const std::optional<std::string>& dir) {
    SCORCH_RETURN_IF_ERROR(InstallScoreHead(*step, dir));
    SCORCH_LOG(INFO) << "rollout " << o.rank << ": scoring with " << (dir ? "SWIFT head " + *dir : "no head");
    return Status::Ok();
  });
  SCORCH_LOG(INFO) << "rollout " << o.rank << ": connecting to " << o.endpoint << " as " << wc.identity << ", "
                   << mc.ParameterCount() << " parameters, " << so.num_slots << " slots x " << so.max_seq_len
                   << " tokens, capacity " << wc.capacity << ", " << threads << " threads, policy version "
                   << o.policy_version;
  Status s = worker.Run();
  if (stats != nullptr) *stats = worker.stats();
  const auto& st = worker.stats();
  SCORCH_LOG(INFO) << "rollout " << o.rank << ": stopped (" << (s.ok() ? "ok" : s.ToString()) << "); "
                   << st.requests << " requests, " << st.trajectories << " trajectories, " << st.rejected
                   << " rejected, " << st.weight_swaps << " weight swaps, KV prefix tokens reused "
                   << generator.stats().reused_prompt_tokens;
  return s;
}

}  // namespace scorch::rollout
