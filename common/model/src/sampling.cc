// Temperature / top-k / top-p sampling with per-request RNGs (see sampling.h).
#include "scorch/model/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace scorch::model {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void CheckBatch(const torch::Tensor& logits, size_t params) {
  TORCH_CHECK(logits.dim() == 2, "sampling: logits must be (B,V), got ", logits.sizes());
  TORCH_CHECK(static_cast<size_t>(logits.size(0)) == params, "sampling: ", params, " SamplingParams for ",
              logits.size(0), " rows");
  TORCH_CHECK(logits.size(1) > 0, "sampling: empty vocabulary");
}

}  // namespace

Status SamplingParams::Validate() const {
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
    return Status::InvalidArgument("sampling: temperature must be >= 0 (0 = greedy), got " + std::to_string(temperature));
  }
  if (top_k < 0) return Status::InvalidArgument("sampling: top_k must be >= 0 (0 = off), got " + std::to_string(top_k));
  if (!(top_p > 0.0 && top_p <= 1.0)) {
    return Status::InvalidArgument("sampling: top_p must be in (0, 1], got " + std::to_string(top_p));
  }
  return Status::Ok();
}

RequestRng::RequestRng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = SplitMix64(x);
}

uint64_t RequestRng::NextU64() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double RequestRng::NextDouble() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

torch::Tensor FilterLogits(const torch::Tensor& logits, const std::vector<SamplingParams>& params) {
  CheckBatch(logits, params.size());
  torch::NoGradGuard no_grad;
  const int64_t B = logits.size(0), V = logits.size(1);
  auto dev = logits.device();
  auto raw = logits.to(torch::kFloat32);
  std::vector<float> inv_temp(static_cast<size_t>(B));
  std::vector<int64_t> keep_k(static_cast<size_t>(B));
  std::vector<float> top_p(static_cast<size_t>(B));
  bool any_k = false, any_p = false, any_greedy = false;
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = params[static_cast<size_t>(b)];
    TORCH_CHECK(p.Validate().ok(), "sampling: invalid params for row ", b, ": ", p.Validate().message());
    inv_temp[static_cast<size_t>(b)] = p.greedy() ? 1.0f : static_cast<float>(1.0 / p.temperature);
    keep_k[static_cast<size_t>(b)] = (p.top_k > 0 && p.top_k < V && !p.greedy()) ? p.top_k : V;
    // "Off" is 2, not 1: float rounding may push the prefix mass to 1 before the tail.
    top_p[static_cast<size_t>(b)] = (p.greedy() || p.top_p >= 1.0) ? 2.0f : static_cast<float>(p.top_p);
    any_k = any_k || keep_k[static_cast<size_t>(b)] < V;
    any_p = any_p || top_p[static_cast<size_t>(b)] < 1.0f;
    any_greedy = any_greedy || p.greedy();
  }
  auto x = raw * torch::tensor(inv_temp).to(dev).unsqueeze(1);
  if (any_k) {
    const int64_t kmax = *std::max_element(keep_k.begin(), keep_k.end());
    auto sorted = kmax < V ? std::get<0>(x.topk(kmax, -1)) : std::get<0>(x.sort(-1, /*descending=*/true));
    auto kth = sorted.gather(1, (torch::tensor(keep_k) - 1).to(dev).unsqueeze(1));  // (B,1)
    x.masked_fill_(x < kth, kNegInf);
  }
  if (any_p) {
    auto [sorted, order] = x.sort(-1, /*descending=*/true);
    auto probs = torch::softmax(sorted, -1);
    auto mass_before = probs.cumsum(-1) - probs;  // exclusive prefix sum
    auto remove = mass_before >= torch::tensor(top_p).to(dev).unsqueeze(1);
    x = torch::empty_like(x).scatter_(1, order, sorted.masked_fill(remove, kNegInf));
  }
  if (any_greedy) {
    std::vector<uint8_t> g(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) g[static_cast<size_t>(b)] = params[static_cast<size_t>(b)].greedy();
    auto greedy_rows = torch::tensor(g).to(dev).to(torch::kBool).unsqueeze(1);  // (B,1)
    auto only_max = torch::full_like(x, kNegInf).scatter_(1, raw.argmax(1, true), 0.0);
    x = torch::where(greedy_rows, only_max, x);
  }
  return x;
}

SampleResult SampleTokens(const torch::Tensor& logits, const std::vector<SamplingParams>& params,
                          const std::vector<RequestRng*>& rngs) {
  CheckBatch(logits, params.size());
  TORCH_CHECK(rngs.size() == params.size(), "sampling: ", rngs.size(), " RNGs for ", params.size(), " rows");
  torch::NoGradGuard no_grad;
  const int64_t B = logits.size(0), V = logits.size(1);
  auto dev = logits.device();
  auto raw = logits.to(torch::kFloat32);
  auto filtered = FilterLogits(raw, params);
  std::vector<double> u(static_cast<size_t>(B), 0.0);
  std::vector<uint8_t> greedy(static_cast<size_t>(B), 0);
  for (int64_t b = 0; b < B; ++b) {
    if (params[static_cast<size_t>(b)].greedy()) {
      greedy[static_cast<size_t>(b)] = 1;
    } else {
      TORCH_CHECK(rngs[static_cast<size_t>(b)] != nullptr, "sampling: null RNG for row ", b);
      u[static_cast<size_t>(b)] = rngs[static_cast<size_t>(b)]->NextDouble();
    }
  }
  // Inverse CDF in float64: the first token whose cumulative mass exceeds u * total.
  auto cdf = torch::softmax(filtered.to(torch::kFloat64), -1).cumsum(-1);  // (B,V)
  auto target = torch::tensor(u, torch::kFloat64).to(dev).unsqueeze(1) * cdf.narrow(1, V - 1, 1);
  auto idx = torch::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true).clamp_max(V - 1);  // (B,1)
  // Rounding at the very top of the CDF could land on a removed token; fall back to argmax.
  auto fallback = filtered.argmax(1, true);
  idx = torch::where(filtered.gather(1, idx).isinf(), fallback, idx);
  auto greedy_rows = torch::tensor(greedy).to(dev).to(torch::kBool).unsqueeze(1);
  idx = torch::where(greedy_rows, raw.argmax(1, true), idx);
  SampleResult r;
  r.tokens = idx.squeeze(1);
  r.logprobs = torch::log_softmax(raw, -1).gather(1, idx).squeeze(1);
  auto slp = torch::log_softmax(filtered, -1).gather(1, idx).squeeze(1);
  r.sampling_logprobs = torch::where(greedy_rows.squeeze(1), torch::zeros_like(slp), slp);
  return r;
}

SampleResult SampleTokens(const torch::Tensor& logits, const std::vector<SamplingParams>& params,
                          std::vector<RequestRng>& rngs) {
  std::vector<RequestRng*> ptrs;
  ptrs.reserve(rngs.size());
  for (auto& r : rngs) ptrs.push_back(&r);
  return SampleTokens(logits, params, ptrs);
}

torch::Tensor TokenLogprobs(const torch::Tensor& logits, const torch::Tensor& targets) {
  TORCH_CHECK(logits.dim() == targets.dim() + 1, "TokenLogprobs: logits ", logits.sizes(), " vs targets ",
              targets.sizes());
  auto x = logits.to(torch::kFloat32);
  auto picked = x.gather(-1, targets.to(torch::kInt64).unsqueeze(-1)).squeeze(-1);
  return picked - torch::logsumexp(x, -1);
}

}  // namespace scorch::model
