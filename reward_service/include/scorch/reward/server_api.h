// RewardApi: the reward service's request handling, shared by the HTTP and ZeroMQ front ends.
//
// HTTP routes (Handle):
//   POST /grade       batched grading and reward scoring:
//     {"items": [{"gold": G, "pred": P}                       // P is a bare answer
//               | {"gold": G, "response": R,                  // R is a whole response
//                  "protocol"?: "single|srr|two_turn|pcl", "token_ids"?: [int],
//                  "generated_tokens"?: int, "max_new_tokens"?: int, "step"?: int}
//               | {"gold": G, "turns": [{"kind": "attempt|verify|evaluation", "text": T}], …}],
//      "options"?: {"reward"?: RewardConfig JSON, "protocol"?: default protocol,
//                   "dense"?: bool (include per-token vectors; default true)}}
//     → {"results": [{"verdict", "reason", "reward", "components": {…},
//                     "turns": [{"kind", "verdict"|"self_verdict", "reason", "agrees"?}],
//                     "dense"?: [float]}], "count": n}
//   POST /get_reward  OpenRLHF's remote reward protocol (`--remote_rm_url`):
//     {"query": [prompt+response], "prompts"?: [prompt], "labels": [gold],
//      "protocol"?, "reward"?} → {"rewards": [Σ weighted reward], "scores": [final
//      correctness 0/1], "extra_logs": {"correct": […], "grader_error": […], "<rule>": […]}}
//     The response is the query with its prompt prefix removed; when a prompt is not a
//     prefix of its query the whole query is graded (counted as errors{prompt_not_prefix}).
//   GET /health       {"status": "ok"} (503 {"status": "stopping"} once draining)
//   GET /metrics      Prometheus text (metrics.h)
// Malformed JSON or fields → 400 {"error": {"code", "reason", "message"}} naming the field;
// wrong method → 405 with Allow; unknown path → 404. Per-request "reward" options build a
// RewardEngine for that request (validated; errors → 400).
//
// Ownership: borrows the Oracle and ServerMetrics, which must outlive it.
// Thread-safety: all methods may be called concurrently (when the Oracle allows it).
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/reward/http_server.h"
#include "scorch/reward/metrics.h"
#include "scorch/reward/reward_config.h"
#include "scorch/reward/reward_engine.h"

namespace scorch::reward {

struct RewardApiOptions {
  RewardConfig reward;                 // rules used when a request names none
  Protocol default_protocol = Protocol::kSingle;
  size_t max_batch_items = 8192;       // more items in one request → 400
  bool allow_request_reward = true;    // false: per-request "reward" options are refused
};

class RewardApi {
 public:
  static StatusOr<std::unique_ptr<RewardApi>> Create(RewardApiOptions options, Oracle* oracle,
                                                     ServerMetrics* metrics);

  // The HTTP router (an HttpHandler).
  HttpResponse Handle(const HttpRequest& request);

  // POST /grade and POST /get_reward bodies → reply JSON. InvalidArgument names the field.
  StatusOr<nlohmann::json> Grade(const nlohmann::json& body);
  StatusOr<nlohmann::json> GetReward(const nlohmann::json& body);

  // Scores trajectories with the default engine (or `engine` when given) and records
  // verdict/error metrics. Used by both front ends.
  std::vector<RewardResult> ScoreAndRecord(const std::vector<TrajectoryView>& trajectories,
                                           const RewardEngine* engine = nullptr);

  const RewardEngine& default_engine() const { return *engine_; }
  ServerMetrics* metrics() const { return metrics_; }
  // /health answers 503 from now on (called when draining).
  void SetStopping() { stopping_ = true; }

 private:
  RewardApi(RewardApiOptions options, Oracle* oracle, ServerMetrics* metrics,
            std::unique_ptr<RewardEngine> engine);
  // The engine for a request's optional "reward" object (nullptr: the default one).
  StatusOr<std::unique_ptr<RewardEngine>> EngineFor(const nlohmann::json& reward);

  RewardApiOptions options_;
  Oracle* oracle_;
  ServerMetrics* metrics_;
  std::unique_ptr<RewardEngine> engine_;
  std::atomic<bool> stopping_{false};
};

// The JSON form of one result, as /grade returns it.
nlohmann::json ResultToJson(const RewardResult& result, bool include_dense);

}  // namespace scorch::reward
