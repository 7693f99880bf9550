// Cross-field invariants of the wire messages (message.h: Validate). Run by EncodeMessage
// before sending and by DecodeMessage after parsing, so a peer can rely on them.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "scorch/common/proto/message.h"

namespace scorch::proto {
namespace {

Status Invalid(const std::string& ctx, std::string_view field, const std::string& what) {
  return Status::InvalidArgument(ctx + "." + std::string(field) + ": " + what);
}

std::string Index(const std::string& ctx, std::string_view field, size_t i) {
  return ctx + "." + std::string(field) + "[" + std::to_string(i) + "]";
}

Status NonNegative(const std::string& ctx, std::string_view field, int64_t v) {
  if (v < 0) return Invalid(ctx, field, std::to_string(v) + " is negative");
  return Status::Ok();
}

Status ValidateHello(const Hello& m) {
  SCORCH_RETURN_IF_ERROR(NonNegative("Hello", "rank", m.rank));
  return NonNegative("Hello", "capacity", m.capacity);
}

Status ValidateHeartbeat(const Heartbeat& m) {
  return NonNegative("Heartbeat", "in_flight", m.in_flight);
}

Status ValidateSampling(const SamplingParams& s, const std::string& ctx) {
  if (!std::isfinite(s.temperature) || s.temperature < 0) {
    return Invalid(ctx, "temperature",
                   std::to_string(s.temperature) + " is not a finite value >= 0");
  }
  if (!(s.top_p > 0 && s.top_p <= 1)) {
    return Invalid(ctx, "top_p", std::to_string(s.top_p) + " is not in (0, 1]");
  }
  SCORCH_RETURN_IF_ERROR(NonNegative(ctx, "top_k", s.top_k));
  if (s.max_new_tokens <= 0) {
    return Invalid(ctx, "max_new_tokens", std::to_string(s.max_new_tokens) + " is not positive");
  }
  for (size_t i = 0; i < s.stop_token_ids.size(); ++i) {
    if (s.stop_token_ids[i] < 0) {
      return Status::InvalidArgument(Index(ctx, "stop_token_ids", i) + ": negative token id");
    }
  }
  return Status::Ok();
}

Status ValidateGenerateRequest(const GenerateRequest& m) {
  const std::string ctx = "GenerateRequest";
  SCORCH_RETURN_IF_ERROR(NonNegative(ctx, "prompt_id", m.prompt_id));
  SCORCH_RETURN_IF_ERROR(NonNegative(ctx, "sample_idx", m.sample_idx));
  for (size_t i = 0; i < m.prompt_token_ids.size(); ++i) {
    if (m.prompt_token_ids[i] < 0) {
      return Status::InvalidArgument(Index(ctx, "prompt_token_ids", i) + ": negative token id");
    }
  }
  if (m.forced_verdict && *m.forced_verdict == Verdict::kError) {
    return Invalid(ctx, "forced_verdict", "'error' cannot be forced (expected correct or wrong)");
  }
  if (m.score_head && m.score_head->empty()) {
    return Invalid(ctx, "score_head", "empty (leave it unset for no scoring)");
  }
  return ValidateSampling(m.sampling, ctx + ".sampling");
}

Status ValidateTrajectory(const Trajectory& t, const std::string& ctx) {
  SCORCH_RETURN_IF_ERROR(NonNegative(ctx, "prompt_id", t.prompt_id));
  SCORCH_RETURN_IF_ERROR(NonNegative(ctx, "sample_idx", t.sample_idx));
  const size_t n = t.token_ids.size();
  if (n > static_cast<size_t>(INT32_MAX)) return Invalid(ctx, "token_ids", "too many tokens");
  if (t.logprobs.size() != n) {
    return Invalid(
        ctx, "logprobs",
        std::to_string(t.logprobs.size()) + " entries for " + std::to_string(n) + " tokens");
  }
  if (t.trainable_mask.size() != n) {
    return Invalid(
        ctx, "trainable_mask",
        std::to_string(t.trainable_mask.size()) + " entries for " + std::to_string(n) + " tokens");
  }
  // Branch-free reductions first (they vectorise); find the culprit only on failure.
  int32_t min_id = 0;
  uint8_t max_mask = 0;
  for (size_t i = 0; i < n; ++i) {
    min_id = std::min(min_id, t.token_ids[i]);
    max_mask = std::max(max_mask, t.trainable_mask[i]);
  }
  if (min_id < 0 || max_mask > 1) {
    for (size_t i = 0; i < n; ++i) {
      if (t.token_ids[i] < 0) {
        return Status::InvalidArgument(Index(ctx, "token_ids", i) + ": negative token id " +
                                       std::to_string(t.token_ids[i]));
      }
      if (t.trainable_mask[i] > 1) {
        return Status::InvalidArgument(Index(ctx, "trainable_mask", i) + ": " +
                                       std::to_string(t.trainable_mask[i]) + " is not 0 or 1");
      }
    }
  }
  int32_t prev_end = 0;
  for (size_t i = 0; i < t.segments.size(); ++i) {
    const Segment& s = t.segments[i];
    const std::string where = Index(ctx, "segments", i);
    if (s.turn < 0) return Status::InvalidArgument(where + ".turn: negative");
    if (s.begin < prev_end || s.end < s.begin || static_cast<size_t>(s.end) > n) {
      return Status::InvalidArgument(
          where + ": range [" + std::to_string(s.begin) + ", " + std::to_string(s.end) +
          ") is not ordered after the previous segment (ending at " + std::to_string(prev_end) +
          ") and inside the " + std::to_string(n) + " tokens");
    }
    prev_end = s.end;
  }
  return Status::Ok();
}

// M-DPO pairs: all samples paired or none; indices 0..P-1, each with one chosen and one
// rejected side of the same prompt; a paired sample's tokens are chosen by MdpoMask, so it
// names no other mask rule.
Status ValidatePairs(const TrainBatch& b) {
  size_t paired = 0;
  for (const TrainSample& s : b.samples) paired += s.pair_index >= 0 ? 1 : 0;
  if (paired == 0) return Status::Ok();
  std::vector<int> chosen(b.samples.size(), 0), rejected(b.samples.size(), 0);
  std::vector<int64_t> prompt(b.samples.size(), -1);
  for (size_t i = 0; i < b.samples.size(); ++i) {
    const TrainSample& s = b.samples[i];
    const std::string ctx = Index("TrainBatch", "samples", i);
    if (s.pair_index < 0) {
      return Invalid(ctx, "pair_index", "unset, but other samples of the batch are paired (pair all or none)");
    }
    if (static_cast<size_t>(s.pair_index) >= b.samples.size() / 2) {
      return Invalid(ctx, "pair_index",
                     std::to_string(s.pair_index) + " is not below the " + std::to_string(b.samples.size() / 2) +
                         " pairs that " + std::to_string(b.samples.size()) + " samples make");
    }
    if (!s.mask_rule.empty()) return Invalid(ctx, "mask_rule", "a paired (M-DPO) sample takes no mask rule");
    const auto k = static_cast<size_t>(s.pair_index);
    ++(s.pair_chosen ? chosen[k] : rejected[k]);
    if (prompt[k] >= 0 && prompt[k] != s.trajectory.prompt_id) {
      return Invalid(ctx, "trajectory.prompt_id",
                     std::to_string(s.trajectory.prompt_id) + " differs from the prompt " + std::to_string(prompt[k]) +
                         " of the other side of pair " + std::to_string(k));
    }
    prompt[k] = s.trajectory.prompt_id;
  }
  for (size_t k = 0; k < b.samples.size() / 2; ++k) {
    if (chosen[k] != 1 || rejected[k] != 1) {
      return Status::InvalidArgument("TrainBatch.samples: pair " + std::to_string(k) + " has " +
                                     std::to_string(chosen[k]) + " chosen and " + std::to_string(rejected[k]) +
                                     " rejected samples (expected 1 and 1)");
    }
  }
  return Status::Ok();
}

Status ValidateTrainBatch(const TrainBatch& b) {
  for (size_t i = 0; i < b.samples.size(); ++i) {
    const TrainSample& s = b.samples[i];
    const std::string ctx = Index("TrainBatch", "samples", i);
    SCORCH_RETURN_IF_ERROR(ValidateTrajectory(s.trajectory, ctx + ".trajectory"));
    if (!s.dense_rewards.empty() && s.dense_rewards.size() != s.trajectory.token_ids.size()) {
      return Invalid(ctx, "dense_rewards",
                     std::to_string(s.dense_rewards.size()) + " entries for " +
                         std::to_string(s.trajectory.token_ids.size()) + " tokens");
    }
    if (!s.mask_rule.empty() && s.mask_rule != "srr_d1" && s.mask_rule != "srr_d2" && s.mask_rule != "srr_d3") {
      return Invalid(ctx, "mask_rule", "'" + s.mask_rule + "' is not one of srr_d1, srr_d2, srr_d3 (or empty)");
    }
    if (s.pair_index < -1) return Invalid(ctx, "pair_index", std::to_string(s.pair_index) + " is below -1 (unpaired)");
    if (!s.sft_track.empty() && s.sft_track != "reason" && s.sft_track != "eval") {
      return Invalid(ctx, "sft_track", "'" + s.sft_track + "' is not one of reason, eval (or empty)");
    }
    if (!s.sft_track.empty() && (!std::isfinite(s.sft_weight) || s.sft_weight < 0.0)) {
      return Invalid(ctx, "sft_weight", std::to_string(s.sft_weight) + " is not a finite weight >= 0");
    }
    if (!s.sft_track.empty() && s.pair_index >= 0) {
      return Invalid(ctx, "sft_track", "a paired (M-DPO) sample is not a demonstration");
    }
  }
  return ValidatePairs(b);
}

Status ValidateGradeRequest(const GradeRequest& m) {
  for (size_t i = 0; i < m.items.size(); ++i) {
    const GradeItem& item = m.items[i];
    const std::string ctx = Index("GradeRequest", "items", i);
    SCORCH_RETURN_IF_ERROR(NonNegative(ctx, "num_generated_tokens", item.num_generated_tokens));
    SCORCH_RETURN_IF_ERROR(NonNegative(ctx, "max_new_tokens", item.max_new_tokens));
    if (!item.generated_token_ids.empty() &&
        item.generated_token_ids.size() != static_cast<size_t>(item.num_generated_tokens)) {
      return Invalid(ctx, "generated_token_ids",
                     std::to_string(item.generated_token_ids.size()) +
                         " ids but num_generated_tokens is " +
                         std::to_string(item.num_generated_tokens));
    }
    for (size_t k = 0; k < item.turns.size(); ++k) {
      if (item.turns[k].turn < 0) {
        return Status::InvalidArgument(Index(ctx, "turns", k) + ".turn: negative");
      }
    }
  }
  return Status::Ok();
}

Status ValidateError(const Error& e) {
  if (e.code <= static_cast<int32_t>(StatusCode::kOk) ||
      e.code > static_cast<int32_t>(StatusCode::kInternal)) {
    return Invalid("Error", "code", std::to_string(e.code) + " is not a scorch error code");
  }
  return Status::Ok();
}

Status ValidateWeightsAnnounce(const WeightsAnnounce& w) {
  return NonNegative("WeightsAnnounce", "version", w.version);
}

}  // namespace

Status Validate(const Message& message) {
  return std::visit(
      [](const auto& m) -> Status {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Hello>) return ValidateHello(m);
        if constexpr (std::is_same_v<T, Heartbeat>) return ValidateHeartbeat(m);
        if constexpr (std::is_same_v<T, GenerateRequest>) return ValidateGenerateRequest(m);
        if constexpr (std::is_same_v<T, Trajectory>) return ValidateTrajectory(m, "Trajectory");
        if constexpr (std::is_same_v<T, TrainBatch>) return ValidateTrainBatch(m);
        if constexpr (std::is_same_v<T, GradeRequest>) return ValidateGradeRequest(m);
        if constexpr (std::is_same_v<T, Error>) return ValidateError(m);
        if constexpr (std::is_same_v<T, WeightsAnnounce>) return ValidateWeightsAnnounce(m);
        return Status::Ok();  // GradeReply, StepStats, Shutdown: any values are valid
      },
      message);
}

}  // namespace scorch::proto
