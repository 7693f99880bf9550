// Training of the SWIFT reward head (ALGORITHMS.md §5) on precomputed features.
//
// The LLM is not involved: each SwiftExample carries the (T,D) features of one response's
// scored positions (model::SwiftFeatures / SwiftFeaturesFrom, masked rows dropped), its
// binary correctness label and the problem it answers. TrainSwiftHead:
//   1. splits the examples by problem (SplitSwiftExamples): the groups are shuffled with
//      `seed` and taken into validation until it holds round(val_fraction·N) examples, so a
//      problem's samples sit on one side only;
//   2. runs AdamW(lr, weight_decay) over mini-batches of `batch_size` examples, right-padded
//      with a mask, reshuffled each epoch from `seed`, with the loss on the sequence score R:
//        bce      BCE-with-logits(R, y), mean over the batch (default);
//        pairwise −log σ(R⁺ − R⁻), mean over all correct×wrong pairs of the same problem in
//                 the batch; batches are built from whole shuffled problems so their pairs
//                 meet, and a batch without a pair is skipped;
//        hinge    max(0, 1 − y±·R), y± = 2y − 1, mean over the batch;
//   3. after each epoch measures, on the validation split, the training loss itself (pairwise:
//      over every correct×wrong pair of one problem there, not only those a batch would hold),
//      the accuracy (R > 0 ⇔ predicted correct) and the pair accuracy (the share of those pairs
//      whose correct member scores higher, ties half: what Best-of-N selection needs). Early
//      stopping reads the training loss's own validation value: a pairwise-trained R has no
//      calibrated offset, so its BCE says little about its ranking (with BCE as the criterion
//      a pairwise head was kept at whichever epoch its offset happened to fit best);
//   4. stops after `patience` epochs without a strictly lower val loss, and leaves the head
//      holding the parameters of the best epoch.
// Everything is deterministic given the seed, the examples (in order) and the initial head.
//
// Thread-safety: single-threaded; do not use the head from another thread while it trains.
// Errors: InvalidArgument for bad options or examples (naming the field or example index), for
// a split that leaves a side empty (giving the counts) and, for pairwise, for a side without a
// problem that has both a correct and a wrong example; FailedPrecondition for a
// non-finite loss (the head then holds the best weights so far, or its initial ones);
// Internal for a LibTorch error.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/model/swift_head.h"

namespace scorch::learner {

struct SwiftExample {
  torch::Tensor features;  // (T,D) float32, the scored positions only; T >= 1
  float label = 0.0f;      // 1 correct, 0 wrong
  int64_t group = 0;       // problem id, for the split and the pairwise loss
};

struct SwiftTrainOptions {
  std::string loss = "bce";     // "bce" | "pairwise" | "hinge"
  double lr = 1e-4;             // AdamW learning rate
  double weight_decay = 1e-5;   // AdamW decoupled weight decay
  int64_t batch_size = 16;      // examples per mini-batch (also for validation)
  int64_t max_epochs = 40;      // passes over the training split, at most
  double val_fraction = 0.2;    // share of examples held out, in (0, 1), split by group
  int64_t patience = 3;         // epochs without val-loss improvement before stopping, >= 1
  uint64_t seed = 0;            // split and per-epoch shuffles

  // InvalidArgument naming the field (swift_train.<field>).
  [[nodiscard]] Status Validate() const;
};

struct SwiftTrainReport {
  int64_t train_examples = 0;
  int64_t val_examples = 0;
  int64_t epochs_run = 0;             // epochs actually trained (<= max_epochs)
  int64_t best_epoch = 0;             // 1-based epoch whose weights the head holds
  int64_t val_pairs = 0;              // correct×wrong pairs of one problem in validation
  double best_val_loss = 0.0;         // val loss (the chosen loss) at best_epoch
  double best_val_accuracy = 0.0;     // val accuracy at best_epoch
  double best_val_pair_accuracy = 0.0;  // val pair accuracy at best_epoch (NaN: no pairs)
  std::vector<double> train_loss;     // per epoch: mean training loss (the chosen loss)
  std::vector<double> val_loss;       // per epoch: val loss (the chosen loss)
  std::vector<double> val_accuracy;   // per epoch: fraction with (R > 0) == label
  std::vector<double> val_pair_accuracy;  // per epoch: share of val pairs ranked right

  nlohmann::json ToJson() const;
};

// The train/validation split TrainSwiftHead uses (indices into `examples`, ascending).
struct SwiftSplit {
  std::vector<int64_t> train;
  std::vector<int64_t> val;
};
// InvalidArgument when either side would be empty (the message gives examples and groups).
StatusOr<SwiftSplit> SplitSwiftExamples(const std::vector<SwiftExample>& examples,
                                        const SwiftTrainOptions& options);

struct SwiftEvalResult {
  double bce = 0.0;       // mean BCE-with-logits of R against the labels
  double accuracy = 0.0;  // fraction with (R > 0) == (label == 1)
  std::vector<double> scores;  // R per evaluated example, in `indices` order
};
// Scores examples[indices] (all of them when `indices` is empty) without gradients, in
// chunks of `batch_size`. InvalidArgument for a bad example.
StatusOr<SwiftEvalResult> EvaluateSwiftHead(model::SwiftHead& head, const std::vector<SwiftExample>& examples,
                                            const std::vector<int64_t>& indices, int64_t batch_size = 16);

// Trains `head` in place (see the file comment). REQUIRES: every example's D equals
// head->input_dim().
StatusOr<SwiftTrainReport> TrainSwiftHead(model::SwiftHead& head, const std::vector<SwiftExample>& examples,
                                          const SwiftTrainOptions& options);

}  // namespace scorch::learner
