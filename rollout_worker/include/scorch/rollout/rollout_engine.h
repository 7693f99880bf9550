// RolloutEngine: runs many trajectories (GenerateRequests under their turn protocols) through
// one continuous-batching Generator. When one generation of a trajectory finishes, its
// protocol decides the next one (a verdict, a correction, ...) and that generation joins the
// queue at once, so trajectories of one, two or three turns share the batch and a freed slot
// is refilled at the next step.
//
// Each generation's prompt is the trajectory's full token history. With reuse_kv (default)
// the trajectory is a generator session (generator.h): its slot keeps the KV cache between
// turns, so a turn prefills only the tokens added since the last generation (the fixed
// instruction text) instead of recomputing the whole history; the tokens are the same either
// way. The session ends (slot freed) when the trajectory completes.
// A generation is clamped to the room left in a slot; a trajectory whose history no longer
// fits ends with EpisodeStats::context_full.
//
// Scoring: when the step model carries a SWIFT head, each generation's token terms are kept
// and the finished Trajectory's hidden_state_score is the head's sequence score R over every
// token the model wrote (all turns), ALGORITHMS §5.
//
// Policy version: every Trajectory is stamped with the version given to Submit. The engine
// never changes weights; the worker swaps weights only while the engine is Idle(), so no
// trajectory mixes two versions.
//
// Ownership: borrows the Generator and the Tokenizer; owns the protocols it created.
// Thread-safety: not thread-safe. Errors: Submit returns InvalidArgument for an unknown
// protocol or a prompt that cannot be rendered; generation failures end the trajectory with
// finish reason `aborted` and EpisodeStats::error.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scorch/common/proto/rollout_messages.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/protocol.h"

namespace scorch::rollout {

struct EpisodeResult {
  proto::Trajectory trajectory;
  EpisodeStats stats;
  std::string protocol;  // canonical protocol name
};

class RolloutEngine {
 public:
  RolloutEngine(Generator& generator, const model::Tokenizer& tokenizer, const ProtocolOptions& options);

  // Starts a trajectory. An empty request.protocol means `default_protocol`.
  [[nodiscard]] Status Submit(const proto::GenerateRequest& request, int64_t policy_version);

  // One generator step; returns the trajectories that completed.
  std::vector<EpisodeResult> Step();
  // Steps until idle; results in completion order.
  std::vector<EpisodeResult> RunToCompletion();

  bool Idle() const { return episodes_.empty() && ready_.empty(); }
  int64_t in_flight() const { return static_cast<int64_t>(episodes_.size()); }

  std::string default_protocol = "single_turn";
  bool reuse_kv = true;  // keep a trajectory's KV cache between its turns (see above)

 private:
  struct Running {
    std::unique_ptr<Episode> episode;
    std::string protocol;
    int64_t policy_version = 0;
    std::vector<std::array<float, 2>> token_terms;  // every generation's, in order
  };

  StatusOr<const TurnProtocol*> Protocol(const std::string& name);
  // Queues the episode's next generation, or completes it when `spec` is empty.
  void Continue(uint64_t id, const std::optional<TurnSpec>& spec);
  void Complete(uint64_t id);

  Generator& generator_;
  const model::Tokenizer& tokenizer_;
  ProtocolOptions options_;
  std::map<std::string, std::unique_ptr<TurnProtocol>> protocols_;
  std::map<uint64_t, Running> episodes_;
  std::vector<EpisodeResult> ready_;
  uint64_t next_id_ = 1;
  std::vector<TokenId> stop_tokens_;
};

}  // namespace scorch::rollout
