// Reducing a data-parallel step's metrics to the global batch's: each learner rank's
// Trainer::Step reports metrics of its own shard; ReduceStepMetrics turns them into what one
// process training on the whole batch would report (to float tolerance), by one rule per
// metric name (kStepMetricRules in step_metrics.cc is the one table of rules):
//   * kSum         counts and loss terms. `loss` and its parts carry the global normaliser,
//                  so their sum is the global loss; tokens, sequences, mdpo/pairs add up.
//   * kWeighted    means, weighted by another metric of the same rank: token means
//                  (entropy, kl/*, clip_fraction, nll, ratio_mean, ...) by `tokens`, DPO pair
//                  means by `mdpo/pairs`, mdpo/nll by `mdpo/chosen_tokens`. A rank without
//                  the weight metric weighs 1 (as MergeStats does).
//   * kSame        identical on every rank by construction (lr, grad_norm: computed from the
//                  all-reduced gradient; values the Trainer already reduced globally, e.g.
//                  value/explained_variance): this rank's value is kept.
// A metric missing on a rank (e.g. entropy on an empty shard) is left out of its reduction;
// a metric missing on every rank stays missing; a weighted mean whose weights sum to 0 is
// missing (as one process reports no entropy for a batch without trained tokens).
// A name not in the table keeps THIS rank's value (the leader's, for what it reports) —
// add a rule when the Trainer grows a metric that differs across ranks.
//
// The collective also carries each rank's step status, so that a step that failed on some
// ranks (after their shards passed CheckBatch) is reported on all of them without a second
// collective: then every rank returns an error (its own, or "learner rank r failed ...").
//
// Call-order rule: COLLECTIVE — every rank calls it once per global step, after its
// Trainer::Step, with its own status and metrics. Thread-safety: the communicator's thread.
// Errors: the failed step's status on its rank; Internal on the others ("learner rank r
// failed this step"); a collective failure ends the process (communicator.h).
#pragma once

#include <map>
#include <string>

#include "scorch/common/status.h"
#include "scorch/learner/communicator.h"

namespace scorch::learner {

enum class MetricRule { kSum, kWeighted, kSame };

// The rule for `name` (and the weight metric of a kWeighted one); kSame for unknown names.
MetricRule StepMetricRule(const std::string& name, std::string* weight = nullptr);

// See the file comment. `local` is this rank's Trainer::Step result.
StatusOr<std::map<std::string, double>> ReduceStepMetrics(Communicator& comm,
                                                          const StatusOr<std::map<std::string, double>>& local);

}  // namespace scorch::learner
