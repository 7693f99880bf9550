// Multi-turn DPO (ALGORITHMS §4.3, SRR eq. 5). See losses.h.
#include <algorithm>

#include "loss_checks.h"
#include "scorch/learner/losses.h"

namespace scorch::learner {

using internal::CheckSameShape;
using internal::CheckTokenTensor;
using internal::MaskAsFloat;
using internal::Masked;
using internal::ToDouble;

StatusOr<LossResult> MdpoLoss(const PreferenceBatch& batch, const MdpoOptions& options) {
  SCORCH_RETURN_IF_ERROR(CheckTokenTensor(batch.chosen_logp, "MdpoLoss: chosen_logp"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(batch.chosen_ref_logp, "MdpoLoss: chosen_ref_logp", batch.chosen_logp,
                                        "chosen_logp"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(batch.chosen_mask, "MdpoLoss: chosen_mask", batch.chosen_logp, "chosen_logp"));
  SCORCH_RETURN_IF_ERROR(CheckTokenTensor(batch.rejected_logp, "MdpoLoss: rejected_logp"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(batch.rejected_ref_logp, "MdpoLoss: rejected_ref_logp",
                                        batch.rejected_logp, "rejected_logp"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(batch.rejected_mask, "MdpoLoss: rejected_mask", batch.rejected_logp,
                                        "rejected_logp"));
  if (batch.chosen_logp.size(0) != batch.rejected_logp.size(0)) {
    return Status::InvalidArgument("MdpoLoss: " + std::to_string(batch.chosen_logp.size(0)) + " chosen rows but " +
                                   std::to_string(batch.rejected_logp.size(0)) + " rejected rows");
  }
  if (!(options.eta > 0.0) || options.nll_coef < 0.0 || options.normalizer < 0.0 || options.nll_normalizer < 0.0) {
    return Status::InvalidArgument("MdpoLoss: eta must be > 0; nll_coef and normalizers >= 0");
  }
  auto mw = MaskAsFloat(batch.chosen_mask, batch.chosen_logp);
  auto ml = MaskAsFloat(batch.rejected_mask, batch.rejected_logp);
  // ℓ(τ) per row: Σ over the masked (model-written, after the shared prefix) tokens.
  auto ell_w = Masked(batch.chosen_logp - batch.chosen_ref_logp.detach(), mw).sum(1);
  auto ell_l = Masked(batch.rejected_logp - batch.rejected_ref_logp.detach(), ml).sum(1);
  auto margin = options.eta * (ell_w - ell_l);
  const int64_t pairs = batch.chosen_logp.size(0);
  const double denom = options.normalizer > 0.0 ? options.normalizer : static_cast<double>(std::max<int64_t>(pairs, 1));
  LossResult r;
  r.loss = -torch::nn::functional::logsigmoid(margin).sum() / denom;
  const double chosen_tokens = ToDouble(mw.sum());
  if (options.nll_coef > 0.0) {
    auto nll = -MaskedMean(batch.chosen_logp, mw, options.nll_normalizer);
    r.loss = r.loss + options.nll_coef * nll;
  }
  {
    torch::NoGradGuard no_grad;
    r.stats.nll = ToDouble(-Masked(batch.chosen_logp.detach(), mw).sum()) / std::max(chosen_tokens, 1.0);
    r.stats.reward_chosen = ToDouble((options.eta * ell_w.detach()).mean());
    r.stats.reward_rejected = ToDouble((options.eta * ell_l.detach()).mean());
    r.stats.reward_margin = ToDouble(margin.detach().mean());
    r.stats.reward_accuracy = ToDouble((ell_w.detach() > ell_l.detach()).to(torch::kDouble).mean());
    r.stats.loss = ToDouble(r.loss);
    r.stats.tokens = chosen_tokens + ToDouble(ml.sum());
    r.stats.sequences = static_cast<double>(pairs);
  }
  return r;
}

}  // namespace scorch::learner
