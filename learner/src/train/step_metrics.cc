// ReduceStepMetrics: the table of per-metric reduction rules and the one all-reduce that
// applies them. See step_metrics.h.
#include "scorch/learner/step_metrics.h"

#include <array>
#include <cmath>
#include <vector>

namespace scorch::learner {
namespace {

struct RuleRow {
  const char* name;
  MetricRule rule;
  const char* weight;  // kWeighted: the metric that weighs it
};

// Every metric Trainer::Step reports that differs across data-parallel ranks. kSame rows are
// listed for the record; names not here are treated as kSame too.
constexpr std::array kStepMetricRules = {
    // Loss terms carry the global normaliser; counts add up.
    RuleRow{"loss", MetricRule::kSum, nullptr},
    RuleRow{"policy_loss", MetricRule::kSum, nullptr},
    RuleRow{"value_loss", MetricRule::kSum, nullptr},
    RuleRow{"kl_loss", MetricRule::kSum, nullptr},
    RuleRow{"pcl/sft_reason_loss", MetricRule::kSum, nullptr},
    RuleRow{"pcl/sft_eval_loss", MetricRule::kSum, nullptr},
    RuleRow{"tokens", MetricRule::kSum, nullptr},
    RuleRow{"sequences", MetricRule::kSum, nullptr},
    RuleRow{"mdpo/pairs", MetricRule::kSum, nullptr},
    RuleRow{"mdpo/chosen_tokens", MetricRule::kSum, nullptr},
    // Token means over the rank's trained tokens.
    RuleRow{"nll", MetricRule::kWeighted, "tokens"},
    RuleRow{"entropy", MetricRule::kWeighted, "tokens"},
    RuleRow{"kl/k1", MetricRule::kWeighted, "tokens"},
    RuleRow{"kl/k2", MetricRule::kWeighted, "tokens"},
    RuleRow{"kl/k3", MetricRule::kWeighted, "tokens"},
    RuleRow{"clip_fraction", MetricRule::kWeighted, "tokens"},
    RuleRow{"value_clip_fraction", MetricRule::kWeighted, "tokens"},
    RuleRow{"ratio_mean", MetricRule::kWeighted, "tokens"},
    RuleRow{"advantage_mean", MetricRule::kWeighted, "tokens"},
    RuleRow{"value/mean", MetricRule::kWeighted, "tokens"},
    RuleRow{"value/returns_mean", MetricRule::kWeighted, "tokens"},
    // Per-pair means (M-DPO), and the NLL per chosen token.
    RuleRow{"mdpo/reward_accuracy", MetricRule::kWeighted, "mdpo/pairs"},
    RuleRow{"mdpo/margin", MetricRule::kWeighted, "mdpo/pairs"},
    RuleRow{"mdpo/reward_chosen", MetricRule::kWeighted, "mdpo/pairs"},
    RuleRow{"mdpo/reward_rejected", MetricRule::kWeighted, "mdpo/pairs"},
    RuleRow{"mdpo/nll", MetricRule::kWeighted, "mdpo/chosen_tokens"},
    // Same on every rank: from the all-reduced gradients, or reduced by the Trainer.
    RuleRow{"lr", MetricRule::kSame, nullptr},
    RuleRow{"grad_norm", MetricRule::kSame, nullptr},
    RuleRow{"critic/lr", MetricRule::kSame, nullptr},
    RuleRow{"critic/grad_norm", MetricRule::kSame, nullptr},
    RuleRow{"critic/skipped", MetricRule::kSame, nullptr},
    RuleRow{"value/explained_variance", MetricRule::kSame, nullptr},
};

}  // namespace

MetricRule StepMetricRule(const std::string& name, std::string* weight) {
  for (const RuleRow& row : kStepMetricRules) {
    if (name == row.name) {
      if (weight != nullptr) *weight = row.weight != nullptr ? row.weight : "";
      return row.rule;
    }
  }
  return MetricRule::kSame;
}

StatusOr<std::map<std::string, double>> ReduceStepMetrics(Communicator& comm,
                                                          const StatusOr<std::map<std::string, double>>& local) {
  const int size = comm.size();
  const size_t rules = kStepMetricRules.size();
  // Layout (float64): [failed flag per rank] then, per table row, [present, numerator, weight].
  // The same on every rank whatever metrics it has, so one all-reduce covers all.
  const size_t base = static_cast<size_t>(size);
  std::vector<double> buf(base + 3 * rules, 0.0);
  if (!local.ok()) buf[static_cast<size_t>(comm.rank())] = 1.0;
  if (local.ok()) {
    const auto& m = *local;
    for (size_t k = 0; k < rules; ++k) {
      const RuleRow& row = kStepMetricRules[k];
      auto it = m.find(row.name);
      if (it == m.end() || std::isnan(it->second) || row.rule == MetricRule::kSame) continue;
      double w = 1.0;
      if (row.rule == MetricRule::kWeighted) {
        auto wt = m.find(row.weight);
        if (wt != m.end() && !std::isnan(wt->second)) w = wt->second;
      }
      buf[base + 3 * k] = 1.0;
      buf[base + 3 * k + 1] = row.rule == MetricRule::kSum ? it->second : w * it->second;
      buf[base + 3 * k + 2] = w;
    }
  }
  std::vector<torch::Tensor> t = {torch::tensor(buf, torch::kFloat64)};
  SCORCH_RETURN_IF_ERROR(comm.AllReduce(t, ReduceOp::kSum));
  auto reduced = t[0].contiguous();
  const double* r = reduced.data_ptr<double>();

  if (!local.ok()) return local.status();
  for (int k = 0; k < size; ++k) {
    if (r[k] > 0.0) {
      return Status::Internal("learner rank " + std::to_string(k) + " of " + std::to_string(size) +
                             " failed this step (see its log); no rank reports it");
    }
  }
  std::map<std::string, double> out = *local;
  for (size_t k = 0; k < rules; ++k) {
    const RuleRow& row = kStepMetricRules[k];
    if (row.rule == MetricRule::kSame) continue;
    const double present = r[base + 3 * k], num = r[base + 3 * k + 1], den = r[base + 3 * k + 2];
    if (present <= 0.0) {
      out.erase(row.name);
    } else if (row.rule == MetricRule::kSum) {
      out[row.name] = num;
    } else if (den > 0.0) {
      out[row.name] = num / den;
    } else {
      out.erase(row.name);
    }
  }
  return out;
}

}  // namespace scorch::learner
