// SWIFT reward-head training on precomputed features (see swift_training.h).
#include "scorch/learner/swift_training.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <utility>

namespace scorch::learner {
namespace {

using model::SwiftHead;

// Fisher-Yates with mt19937_64, whose output the standard fixes (std::shuffle's algorithm is
// implementation-defined), so a seed gives the same order with any standard library.
template <typename T>
void Shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

Status CheckExamples(const std::vector<SwiftExample>& examples, int64_t input_dim) {
  if (examples.empty()) return Status::InvalidArgument("swift training: no examples");
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& e = examples[i];
    const std::string where = "swift training: example " + std::to_string(i);
    if (!e.features.defined() || e.features.dim() != 2) {
      return Status::InvalidArgument(where + ": features must be a (T,D) tensor");
    }
    if (!e.features.is_floating_point()) return Status::InvalidArgument(where + ": features must be floating point");
    if (e.features.size(0) < 1) return Status::InvalidArgument(where + ": no scored positions (T = 0)");
    if (e.features.size(1) != input_dim) {
      return Status::InvalidArgument(where + ": feature dim " + std::to_string(e.features.size(1)) +
                                     " != head input_dim " + std::to_string(input_dim));
    }
    if (e.label != 0.0f && e.label != 1.0f) {
      return Status::InvalidArgument(where + ": label must be 0 or 1, got " + std::to_string(e.label));
    }
  }
  return Status::Ok();
}

// Right-padded (B,T,D) features on `device`, (B,T) mask, (B) labels.
struct Batch {
  torch::Tensor features, mask, labels;
};

Batch Collate(const std::vector<SwiftExample>& examples, const std::vector<int64_t>& idx, torch::Device device) {
  int64_t T = 0;
  for (int64_t i : idx) T = std::max(T, examples[static_cast<size_t>(i)].features.size(0));
  const int64_t B = static_cast<int64_t>(idx.size());
  const int64_t D = examples[static_cast<size_t>(idx[0])].features.size(1);
  Batch b;
  b.features = torch::zeros({B, T, D}, torch::kFloat32);
  b.mask = torch::zeros({B, T}, torch::kFloat32);
  std::vector<float> labels;
  for (int64_t r = 0; r < B; ++r) {
    const auto& e = examples[static_cast<size_t>(idx[static_cast<size_t>(r)])];
    const int64_t n = e.features.size(0);
    b.features[r].narrow(0, 0, n).copy_(e.features.to(torch::kFloat32));
    b.mask[r].narrow(0, 0, n).fill_(1.0f);
    labels.push_back(e.label);
  }
  b.labels = torch::tensor(labels, torch::kFloat32);
  b.features = b.features.to(device);
  b.mask = b.mask.to(device);
  b.labels = b.labels.to(device);
  return b;
}

// Training batches for one epoch: shuffled examples in chunks, or (pairwise) whole shuffled
// groups packed greedily so that a group's correct×wrong pairs share a batch.
std::vector<std::vector<int64_t>> MakeBatches(const std::vector<SwiftExample>& examples,
                                              const std::vector<int64_t>& train, const SwiftTrainOptions& o,
                                              std::mt19937_64& rng) {
  const size_t bs = static_cast<size_t>(o.batch_size);
  std::vector<std::vector<int64_t>> batches;
  if (o.loss != "pairwise") {
    std::vector<int64_t> order = train;
    Shuffle(order, rng);
    for (size_t s = 0; s < order.size(); s += bs) {
      batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(s),
                           order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + bs)));
    }
    return batches;
  }
  std::map<int64_t, std::vector<int64_t>> by_group;
  for (int64_t i : train) by_group[examples[static_cast<size_t>(i)].group].push_back(i);
  std::vector<std::vector<int64_t>> groups;
  for (auto& [g, members] : by_group) groups.push_back(std::move(members));
  Shuffle(groups, rng);
  std::vector<int64_t> current;
  for (auto& members : groups) {
    Shuffle(members, rng);
    if (members.size() > bs) {  // too big for one batch: its own chunks
      for (size_t s = 0; s < members.size(); s += bs) {
        batches.emplace_back(members.begin() + static_cast<std::ptrdiff_t>(s),
                             members.begin() + static_cast<std::ptrdiff_t>(std::min(members.size(), s + bs)));
      }
      continue;
    }
    if (current.size() + members.size() > bs) {
      batches.push_back(std::move(current));
      current.clear();
    }
    current.insert(current.end(), members.begin(), members.end());
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

// The correct×wrong pairs of one group among examples[idx], as positions into idx.
std::vector<std::pair<size_t, size_t>> GroupPairs(const std::vector<SwiftExample>& examples,
                                                  const std::vector<int64_t>& idx) {
  std::map<int64_t, std::vector<size_t>> by_group;
  for (size_t k = 0; k < idx.size(); ++k) by_group[examples[static_cast<size_t>(idx[k])].group].push_back(k);
  std::vector<std::pair<size_t, size_t>> pairs;
  for (const auto& [group, members] : by_group) {
    for (size_t a : members) {
      if (examples[static_cast<size_t>(idx[a])].label != 1.0f) continue;
      for (size_t b : members) {
        if (examples[static_cast<size_t>(idx[b])].label == 0.0f) pairs.emplace_back(a, b);
      }
    }
  }
  return pairs;
}

// The training loss of one batch and its weight (examples, or pairs for pairwise); an
// undefined tensor when a pairwise batch holds no pair.
std::pair<torch::Tensor, int64_t> BatchLoss(const std::string& loss, const torch::Tensor& R, const Batch& b,
                                            const std::vector<SwiftExample>& examples,
                                            const std::vector<int64_t>& idx) {
  const int64_t B = R.size(0);
  if (loss == "bce") return {torch::binary_cross_entropy_with_logits(R, b.labels), B};
  if (loss == "hinge") {
    auto y = b.labels * 2.0 - 1.0;
    return {(1.0 - y * R).clamp_min(0.0).mean(), B};
  }
  std::vector<int64_t> pos, neg;
  for (const auto& [right, wrong] : GroupPairs(examples, idx)) {
    pos.push_back(static_cast<int64_t>(right));
    neg.push_back(static_cast<int64_t>(wrong));
  }
  if (pos.empty()) return {torch::Tensor(), 0};
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(R.device());
  auto diff = R.index_select(0, torch::tensor(pos, opts)) - R.index_select(0, torch::tensor(neg, opts));
  return {torch::softplus(-diff).mean(), static_cast<int64_t>(pos.size())};  // −log σ(diff)
}

// The validation value of `loss` for the scores of examples[idx] (BCE from the evaluation,
// hinge over the examples, pairwise over `pairs`) and the share of `pairs` ranked right.
std::pair<double, double> ValidationLossAndPairAccuracy(const std::string& loss,
                                                        const std::vector<SwiftExample>& examples,
                                                        const std::vector<int64_t>& idx,
                                                        const std::vector<std::pair<size_t, size_t>>& pairs,
                                                        const SwiftEvalResult& eval) {
  const std::vector<double>& R = eval.scores;
  double wins = 0.0, pairwise = 0.0;
  for (const auto& [a, b] : pairs) {
    const double diff = R[a] - R[b];
    wins += diff > 0.0 ? 1.0 : (diff == 0.0 ? 0.5 : 0.0);
    pairwise += std::max(-diff, 0.0) + std::log1p(std::exp(-std::abs(diff)));  // softplus(−diff)
  }
  const double n_pairs = static_cast<double>(pairs.size());
  const double pair_accuracy = pairs.empty() ? std::numeric_limits<double>::quiet_NaN() : wins / n_pairs;
  if (loss == "pairwise") return {pairwise / n_pairs, pair_accuracy};
  if (loss == "hinge") {
    double sum = 0.0;
    for (size_t k = 0; k < idx.size(); ++k) {
      const double y = examples[static_cast<size_t>(idx[k])].label == 1.0f ? 1.0 : -1.0;
      sum += std::max(0.0, 1.0 - y * R[k]);
    }
    return {sum / static_cast<double>(idx.size()), pair_accuracy};
  }
  return {eval.bce, pair_accuracy};
}

std::vector<torch::Tensor> SnapshotParams(SwiftHead& head) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (const auto& p : head->parameters()) out.push_back(p.detach().clone());
  return out;
}

void RestoreParams(SwiftHead& head, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  auto params = head->parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(saved[i]);
}

}  // namespace

// ---------------------------------------------------------------------------------------
Status SwiftTrainOptions::Validate() const {
  if (loss != "bce" && loss != "pairwise" && loss != "hinge") {
    return Status::InvalidArgument("swift_train.loss: unknown loss '" + loss + "' (expected bce, pairwise or hinge)");
  }
  if (!(lr > 0.0) || !std::isfinite(lr)) return Status::InvalidArgument("swift_train.lr: must be a positive number");
  if (!(weight_decay >= 0.0) || !std::isfinite(weight_decay)) {
    return Status::InvalidArgument("swift_train.weight_decay: must be >= 0");
  }
  if (batch_size < 1) return Status::InvalidArgument("swift_train.batch_size: must be >= 1");
  if (max_epochs < 1) return Status::InvalidArgument("swift_train.max_epochs: must be >= 1");
  if (!(val_fraction > 0.0 && val_fraction < 1.0)) {
    return Status::InvalidArgument("swift_train.val_fraction: must lie in (0, 1)");
  }
  if (patience < 1) return Status::InvalidArgument("swift_train.patience: must be >= 1");
  return Status::Ok();
}

nlohmann::json SwiftTrainReport::ToJson() const {
  return nlohmann::json{{"train_examples", train_examples},
                        {"val_examples", val_examples},
                        {"epochs_run", epochs_run},
                        {"best_epoch", best_epoch},
                        {"best_val_loss", best_val_loss},
                        {"best_val_accuracy", best_val_accuracy},
                        {"best_val_pair_accuracy", best_val_pair_accuracy},  // NaN is written as null
                        {"val_pairs", val_pairs},
                        {"train_loss", train_loss},
                        {"val_loss", val_loss},
                        {"val_accuracy", val_accuracy},
                        {"val_pair_accuracy", val_pair_accuracy}};
}

StatusOr<SwiftSplit> SplitSwiftExamples(const std::vector<SwiftExample>& examples, const SwiftTrainOptions& options) {
  SCORCH_RETURN_IF_ERROR(options.Validate());
  const int64_t n = static_cast<int64_t>(examples.size());
  std::vector<int64_t> groups;  // in order of first appearance
  std::map<int64_t, std::vector<int64_t>> members;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t g = examples[static_cast<size_t>(i)].group;
    if (members.find(g) == members.end()) groups.push_back(g);
    members[g].push_back(i);
  }
  std::mt19937_64 rng(options.seed);
  Shuffle(groups, rng);
  const int64_t target = std::max<int64_t>(1, std::llround(options.val_fraction * static_cast<double>(n)));
  SwiftSplit split;
  for (int64_t g : groups) {
    auto& side = static_cast<int64_t>(split.val.size()) < target ? split.val : split.train;
    side.insert(side.end(), members[g].begin(), members[g].end());
  }
  if (split.train.empty() || split.val.empty()) {
    return Status::InvalidArgument(
        "swift training: cannot hold out val_fraction " + std::to_string(options.val_fraction) + " of " +
        std::to_string(n) + " example(s) in " + std::to_string(groups.size()) +
        " group(s) by group: the split gives train = " + std::to_string(split.train.size()) +
        ", val = " + std::to_string(split.val.size()) +
        "; need at least one example on each side (so at least two groups)");
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.val.begin(), split.val.end());
  return split;
}

StatusOr<SwiftEvalResult> EvaluateSwiftHead(SwiftHead& head, const std::vector<SwiftExample>& examples,
                                            const std::vector<int64_t>& indices, int64_t batch_size) {
  SCORCH_RETURN_IF_ERROR(CheckExamples(examples, head->input_dim()));
  if (batch_size < 1) return Status::InvalidArgument("EvaluateSwiftHead: batch_size must be >= 1");
  std::vector<int64_t> idx = indices;
  if (idx.empty()) {
    for (int64_t i = 0; i < static_cast<int64_t>(examples.size()); ++i) idx.push_back(i);
  }
  for (int64_t i : idx) {
    if (i < 0 || i >= static_cast<int64_t>(examples.size())) {
      return Status::InvalidArgument("EvaluateSwiftHead: index " + std::to_string(i) + " out of range");
    }
  }
  SwiftEvalResult res;
  try {
    torch::NoGradGuard no_grad;
    const auto device = head->linear->weight.device();
    double bce_sum = 0.0;
    int64_t correct = 0;
    for (size_t s = 0; s < idx.size(); s += static_cast<size_t>(batch_size)) {
      std::vector<int64_t> chunk(idx.begin() + static_cast<std::ptrdiff_t>(s),
                                 idx.begin() + static_cast<std::ptrdiff_t>(
                                                   std::min(idx.size(), s + static_cast<size_t>(batch_size))));
      Batch b = Collate(examples, chunk, device);
      auto R = head->forward(b.features, b.mask).score;
      bce_sum += torch::binary_cross_entropy_with_logits(R, b.labels, {}, {}, torch::Reduction::Sum).item<double>();
      correct += (R.gt(0.0) == b.labels.gt(0.5)).sum().item<int64_t>();
      auto cpu = R.to(torch::kCPU, torch::kFloat64).contiguous();
      res.scores.insert(res.scores.end(), cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
    }
    res.bce = bce_sum / static_cast<double>(idx.size());
    res.accuracy = static_cast<double>(correct) / static_cast<double>(idx.size());
  } catch (const c10::Error& e) {
    return Status::Internal(std::string("EvaluateSwiftHead: ") + e.what_without_backtrace());
  }
  return res;
}

StatusOr<SwiftTrainReport> TrainSwiftHead(SwiftHead& head, const std::vector<SwiftExample>& examples,
                                          const SwiftTrainOptions& options) {
  SCORCH_RETURN_IF_ERROR(options.Validate());
  SCORCH_RETURN_IF_ERROR(CheckExamples(examples, head->input_dim()));
  SCORCH_ASSIGN_OR_RETURN(SwiftSplit split, SplitSwiftExamples(examples, options));
  const std::vector<std::pair<size_t, size_t>> val_pairs = GroupPairs(examples, split.val);
  if (options.loss == "pairwise") {
    const char* side = GroupPairs(examples, split.train).empty() ? "training"
                       : val_pairs.empty()                          ? "validation"
                                                                    : nullptr;
    if (side != nullptr) {
      return Status::InvalidArgument(std::string("swift_train.loss: pairwise needs a ") + side +
                                     " group with both a correct and a wrong example");
    }
  }

  SwiftTrainReport report;
  report.train_examples = static_cast<int64_t>(split.train.size());
  report.val_examples = static_cast<int64_t>(split.val.size());
  report.val_pairs = static_cast<int64_t>(val_pairs.size());
  report.best_val_loss = std::numeric_limits<double>::infinity();

  std::vector<torch::Tensor> best = SnapshotParams(head);
  auto fail = [&](std::string msg) -> Status {
    RestoreParams(head, best);
    return Status::FailedPrecondition(std::move(msg));
  };
  try {
    torch::AutoGradMode grad_on(true);
    head->train();
    const auto device = head->linear->weight.device();
    torch::optim::AdamW opt(head->parameters(),
                            torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
    // A stream of its own (seeded apart from the split's) for the per-epoch shuffles.
    std::mt19937_64 rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
    int64_t bad_epochs = 0;
    for (int64_t epoch = 1; epoch <= options.max_epochs; ++epoch) {
      double loss_sum = 0.0;
      int64_t weight_sum = 0;
      for (const auto& idx : MakeBatches(examples, split.train, options, rng)) {
        Batch b = Collate(examples, idx, device);
        auto R = head->forward(b.features, b.mask).score;
        auto [loss, weight] = BatchLoss(options.loss, R, b, examples, idx);
        if (!loss.defined()) continue;  // a pairwise batch without a pair
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          return fail("swift training: non-finite " + options.loss + " loss in epoch " + std::to_string(epoch));
        }
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss_sum += value * static_cast<double>(weight);
        weight_sum += weight;
      }
      if (weight_sum == 0) {
        return fail("swift training: no training batch of epoch " + std::to_string(epoch) +
                    " held a correct×wrong pair of one group");
      }
      head->eval();
      auto val = EvaluateSwiftHead(head, examples, split.val, options.batch_size);
      head->train();
      if (!val.ok()) return val.status();
      const auto [val_loss, pair_accuracy] =
          ValidationLossAndPairAccuracy(options.loss, examples, split.val, val_pairs, *val);
      if (!std::isfinite(val_loss)) {
        return fail("swift training: non-finite validation loss in epoch " + std::to_string(epoch));
      }
      report.epochs_run = epoch;
      report.train_loss.push_back(loss_sum / static_cast<double>(weight_sum));
      report.val_loss.push_back(val_loss);
      report.val_accuracy.push_back(val->accuracy);
      report.val_pair_accuracy.push_back(pair_accuracy);
      if (val_loss < report.best_val_loss) {
        report.best_val_loss = val_loss;
        report.best_val_accuracy = val->accuracy;
        report.best_val_pair_accuracy = pair_accuracy;
        report.best_epoch = epoch;
        best = SnapshotParams(head);
        bad_epochs = 0;
      } else if (++bad_epochs >= options.patience) {
        break;
      }
    }
  } catch (const c10::Error& e) {
    RestoreParams(head, best);
    return Status::Internal(std::string("swift training: ") + e.what_without_backtrace());
  }
  RestoreParams(head, best);
  head->eval();
  return report;
}

}  // namespace scorch::learner
