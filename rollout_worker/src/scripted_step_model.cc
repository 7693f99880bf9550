// ScriptedStepModel: predetermined next tokens (see the header).
#include "scorch/rollout/scripted_step_model.h"

#include <utility>

namespace scorch::rollout {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

ScriptedStepModel::ScriptedStepModel(const Options& options, Script script)
    : options_(options), script_(std::move(script)), slots_(static_cast<size_t>(options.num_slots)) {}

int64_t ScriptedStepModel::SlotLength(int64_t slot) const {
  return static_cast<int64_t>(slots_.at(static_cast<size_t>(slot)).history.size());
}

void ScriptedStepModel::ResetSlot(int64_t slot) { slots_.at(static_cast<size_t>(slot)) = Slot{}; }

void ScriptedStepModel::BeginGeneration(int64_t slot) { slots_.at(static_cast<size_t>(slot)).new_generation = true; }

StatusOr<torch::Tensor> ScriptedStepModel::Forward(const std::vector<StepRow>& rows) {
  SCORCH_RETURN_IF_ERROR(ValidateRows(*this, rows));
  ++forward_calls_;
  rows_per_call_.push_back(static_cast<int64_t>(rows.size()));
  const int64_t V = options_.vocab_size;
  auto logits = torch::full({static_cast<int64_t>(rows.size()), V}, -1e4f, torch::kFloat32);
  auto acc = logits.accessor<float, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    Slot& s = slots_[static_cast<size_t>(rows[i].slot)];
    const bool fresh = s.history.empty() || s.new_generation;
    s.new_generation = false;
    s.history.insert(s.history.end(), rows[i].tokens.begin(), rows[i].tokens.end());
    if (fresh) {
      s.prompt_len = s.history.size();
      prompts_seen_.push_back(s.history);
      s.plan = script_ ? script_(s.history) : std::vector<TokenId>{};
    }
    const size_t k = s.history.size() - s.prompt_len;  // tokens generated so far
    const auto row = static_cast<int64_t>(i);
    if (k < s.plan.size()) {
      acc[row][s.plan[k]] = 0.0f;
    } else if (options_.fallback_token) {
      acc[row][*options_.fallback_token] = 0.0f;
    } else {
      uint64_t h = 0x12345;
      for (TokenId t : s.history) h = Mix(h ^ static_cast<uint64_t>(t));
      for (int64_t v = 0; v < V; ++v) {
        const uint64_t r = Mix(h + static_cast<uint64_t>(v));
        acc[row][v] = static_cast<float>(static_cast<double>(r >> 11) * 0x1.0p-53 * 4.0);
      }
    }
  }
  return logits;
}

}  // namespace scorch::rollout
