// PolicyStepModel: one generator step over the Policy's incremental forward.
#include "scorch/rollout/step_model.h"

#include <algorithm>
#include <string>
#include <utility>

namespace scorch::rollout {

Status ValidateRows(const StepModel& model, const std::vector<StepRow>& rows) {
  std::vector<uint8_t> used(static_cast<size_t>(model.num_slots()), 0);
  for (size_t i = 0; i < rows.size(); ++i) {
    const StepRow& r = rows[i];
    const std::string where = "step row " + std::to_string(i);
    if (r.slot < 0 || r.slot >= model.num_slots()) {
      return Status::InvalidArgument(where + ": slot " + std::to_string(r.slot) + " outside [0, " +
                                     std::to_string(model.num_slots()) + ")");
    }
    if (used[static_cast<size_t>(r.slot)]) {
      return Status::InvalidArgument(where + ": slot " + std::to_string(r.slot) + " appears twice");
    }
    used[static_cast<size_t>(r.slot)] = 1;
    if (r.tokens.empty()) return Status::InvalidArgument(where + ": no tokens");
    const int64_t n = static_cast<int64_t>(r.tokens.size());
    if (model.SlotLength(r.slot) + n > model.max_seq_len()) {
      return Status::InvalidArgument(where + ": " + std::to_string(n) + " tokens overflow slot " +
                                     std::to_string(r.slot) + " (" + std::to_string(model.SlotLength(r.slot)) +
                                     " of " + std::to_string(model.max_seq_len()) + " used)");
    }
    for (TokenId t : r.tokens) {
      if (t < 0 || t >= model.vocab_size()) {
        return Status::InvalidArgument(where + ": token id " + std::to_string(t) + " outside the vocabulary of " +
                                       std::to_string(model.vocab_size()));
      }
    }
  }
  return Status::Ok();
}

PolicyStepModel::PolicyStepModel(model::Policy policy, const PolicyStepModelOptions& options)
    : policy_(std::move(policy)),
      cache_(policy_->config(), model::KvCacheOptions{options.num_slots, options.max_seq_len, options.dtype,
                                                      options.device}),
      options_(options) {}

void PolicyStepModel::SetPolicy(model::Policy policy) {
  policy_ = std::move(policy);
  cache_.ResetAll();
  for (auto& t : terms_) t.clear();
}

void PolicyStepModel::ResetSlot(int64_t slot) {
  cache_.ResetSlot(slot);
  if (score_) terms_[static_cast<size_t>(slot)].clear();
}

void PolicyStepModel::SetScoreHead(std::optional<ScoreHead> head) {
  score_ = std::move(head);
  cache_.ResetAll();
  terms_.assign(score_ ? static_cast<size_t>(cache_.num_slots()) : 0, {});
}

const std::vector<std::array<float, 2>>* PolicyStepModel::TokenTerms(int64_t slot) const {
  if (!score_ || slot < 0 || slot >= static_cast<int64_t>(terms_.size())) return nullptr;
  return &terms_[static_cast<size_t>(slot)];
}

torch::Tensor PolicyStepModel::RunRows(const std::vector<StepRow>& rows, const std::vector<size_t>& which) {
  const int64_t B = static_cast<int64_t>(which.size());
  int64_t T = 0;
  for (size_t i : which) T = std::max<int64_t>(T, static_cast<int64_t>(rows[i].tokens.size()));
  // Right-padded host buffers, then one copy to the device.
  std::vector<int64_t> ids(static_cast<size_t>(B * T), 0);
  std::vector<int64_t> mask(static_cast<size_t>(B * T), 0);
  std::vector<int64_t> slots;
  slots.reserve(which.size());
  bool ragged = false;
  for (int64_t b = 0; b < B; ++b) {
    const StepRow& r = rows[which[static_cast<size_t>(b)]];
    slots.push_back(r.slot);
    const int64_t n = static_cast<int64_t>(r.tokens.size());
    ragged = ragged || n != T;
    for (int64_t t = 0; t < n; ++t) {
      ids[static_cast<size_t>(b * T + t)] = r.tokens[static_cast<size_t>(t)];
      mask[static_cast<size_t>(b * T + t)] = 1;
    }
  }
  auto input = torch::tensor(ids, torch::kInt64).view({B, T}).to(options_.device);
  torch::Tensor attn;
  if (ragged) attn = torch::tensor(mask, torch::kInt64).view({B, T}).to(options_.device);
  ++forward_calls_;
  model::ForwardOptions fo{model::LogitsMode::kLast, {}};
  if (score_) fo = model::SwiftForwardOptions(score_->config, policy_->config());
  if (fo.logits == model::LogitsMode::kNone) fo.logits = model::LogitsMode::kLast;
  auto out = policy_->ForwardIncremental(input, attn, slots, cache_, fo);
  torch::Tensor last = out.logits;
  if (fo.logits == model::LogitsMode::kAll) {
    // Logits-mode scoring asked for every position; sampling needs each row's last real one.
    std::vector<int64_t> ends;
    for (int64_t b = 0; b < B; ++b) ends.push_back(static_cast<int64_t>(rows[which[static_cast<size_t>(b)]].tokens.size()) - 1);
    auto idx = torch::tensor(ends, torch::kInt64).to(options_.device);
    last = out.logits.index({torch::arange(B, torch::TensorOptions().dtype(torch::kInt64).device(options_.device)), idx});
  }
  if (score_) {
    auto terms = score_->head->TokenTerms(model::SwiftFeaturesFrom(policy_, score_->config, out))
                     .to(torch::kCPU, torch::kFloat32)
                     .contiguous();  // (B, T, 2)
    const float* p = terms.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      const StepRow& r = rows[which[static_cast<size_t>(b)]];
      auto& dst = terms_[static_cast<size_t>(r.slot)];
      const int64_t n = static_cast<int64_t>(r.tokens.size());
      for (int64_t t = 0; t < n; ++t) dst.push_back({p[(b * T + t) * 2], p[(b * T + t) * 2 + 1]});
    }
  }
  return last.to(torch::kFloat32);
}

StatusOr<torch::Tensor> PolicyStepModel::Forward(const std::vector<StepRow>& rows) {
  SCORCH_RETURN_IF_ERROR(ValidateRows(*this, rows));
  if (rows.empty()) return torch::zeros({0, vocab_size()}, torch::kFloat32);
  try {
    torch::NoGradGuard no_grad;
    int64_t longest = 0, real = 0;
    for (const auto& r : rows) {
      longest = std::max<int64_t>(longest, static_cast<int64_t>(r.tokens.size()));
      real += static_cast<int64_t>(r.tokens.size());
    }
    const double padded = static_cast<double>(longest) * static_cast<double>(rows.size());
    std::vector<size_t> all(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) all[i] = i;
    if (longest == 1 || 1.0 - static_cast<double>(real) / padded <= options_.max_padding_waste) {
      return RunRows(rows, all);
    }
    // Too much padding: prefill the multi-token rows together, decode the rest at T = 1.
    std::vector<size_t> multi, single;
    for (size_t i = 0; i < rows.size(); ++i) (rows[i].tokens.size() > 1 ? multi : single).push_back(i);
    auto logits = torch::empty({static_cast<int64_t>(rows.size()), vocab_size()},
                               torch::TensorOptions().dtype(torch::kFloat32).device(options_.device));
    for (const auto* group : {&multi, &single}) {
      if (group->empty()) continue;
      auto part = RunRows(rows, *group);
      std::vector<int64_t> index(group->begin(), group->end());
      logits.index_copy_(0, torch::tensor(index, torch::kInt64).to(options_.device), part);
    }
    return logits;
  } catch (const c10::Error& e) {
    return Status::Internal(std::string("policy step failed: ") + e.what_without_backtrace());
  }
}

Status InstallScoreHead(PolicyStepModel& step, const std::optional<std::string>& dir) {
  if (!dir) {
    step.SetScoreHead(std::nullopt);
    return Status::Ok();
  }
  try {
    ScoreHead h;
    SCORCH_ASSIGN_OR_RETURN(h.head, model::LoadSwiftHead(*dir, step.policy()->config(), &h.config));
    const torch::Tensor p = step.policy()->parameters().front();  // a copy: parameters() is a temporary
    h.head->to(p.device(), torch::kFloat32);  // features are float32 (swift_head.h)
    h.head->eval();
    step.SetScoreHead(std::move(h));
    return Status::Ok();
  } catch (const c10::Error& e) {
    return Status::Internal("installing the SWIFT head " + *dir + ": " + e.what_without_backtrace());
  }
}

}  // namespace scorch::rollout
