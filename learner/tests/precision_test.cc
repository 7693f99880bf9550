// Compute precision: names, the device check (bf16 refused on CPU unless allowed, with a
// message naming the field), and AutocastScope (bf16 matmuls inside, float32 grads, state
// restored on exit, nesting).
#include "scorch/learner/precision.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

namespace scorch::learner {
namespace {

TEST(PrecisionTest, ParsesNamesAndRejectsUnknown) {
  EXPECT_EQ(ParseComputePrecision("fp32").value(), ComputePrecision::kFloat32);
  EXPECT_EQ(ParseComputePrecision("float32").value(), ComputePrecision::kFloat32);
  EXPECT_EQ(ParseComputePrecision("bf16").value(), ComputePrecision::kBf16Autocast);
  EXPECT_EQ(ParseComputePrecision("bf16-autocast").value(), ComputePrecision::kBf16Autocast);
  EXPECT_EQ(ComputePrecisionName(ComputePrecision::kBf16Autocast), "bf16");
  EXPECT_EQ(ComputePrecisionName(ComputePrecision::kFloat32), "fp32");
  auto bad = ParseComputePrecision("fp8");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'fp8'"), std::string::npos);
  PrecisionConfig c;
  EXPECT_TRUE(c.Validate().ok());
  c.compute = "half";
  EXPECT_FALSE(c.Validate().ok());
}

TEST(PrecisionTest, Bf16OnCpuIsRefusedUnlessAllowed) {
  PrecisionConfig c;
  EXPECT_EQ(CheckPrecisionSupported(c, torch::kCPU).value(), ComputePrecision::kFloat32);
  c.compute = "bf16";
  auto refused = CheckPrecisionSupported(c, torch::kCPU);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("precision.compute"), std::string::npos);
  EXPECT_NE(refused.status().message().find("allow_cpu_bf16"), std::string::npos);
  c.allow_cpu_bf16 = true;
  EXPECT_EQ(CheckPrecisionSupported(c, torch::kCPU).value(), ComputePrecision::kBf16Autocast);
  c.compute = "nonsense";
  EXPECT_EQ(CheckPrecisionSupported(c, torch::kCPU).status().code(), StatusCode::kInvalidArgument);
}

TEST(PrecisionTest, Bf16OnCudaNeedsCuda) {
  PrecisionConfig c;
  c.compute = "bf16";
  auto r = CheckPrecisionSupported(c, torch::Device(torch::kCUDA, 0));
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(r.ok()) << r.status();
  } else {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("CUDA"), std::string::npos);
  }
}

TEST(PrecisionTest, AutocastScopeRunsLinearInBf16AndRestoresState) {
  torch::manual_seed(3);
  torch::nn::Linear lin(16, 8);
  auto x = torch::randn({4, 16});
  ASSERT_FALSE(at::autocast::is_cpu_enabled());
  torch::Tensor grad_fp32;
  {
    AutocastScope fp32(ComputePrecision::kFloat32, torch::kCPU);
    EXPECT_FALSE(fp32.active());
    auto y = lin(x);
    EXPECT_EQ(y.scalar_type(), torch::kFloat);
    y.sum().backward();
    grad_fp32 = lin->weight.grad().clone();
    lin->weight.mutable_grad().zero_();
  }
  {
    AutocastScope bf16(ComputePrecision::kBf16Autocast, torch::kCPU);
    EXPECT_TRUE(bf16.active());
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    {
      AutocastScope inner(ComputePrecision::kBf16Autocast, torch::kCPU);
      EXPECT_EQ(lin(x).scalar_type(), torch::kBFloat16);
    }
    EXPECT_TRUE(at::autocast::is_cpu_enabled());  // the inner scope restored the outer state
    auto y = lin(x);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    y.to(torch::kFloat).sum().backward();
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(lin(x).scalar_type(), torch::kFloat);
  // Master weights and their gradients stay float32; the bf16 gradient is close to fp32's
  // (bf16 keeps 8 significant bits: relative error ~4e-3 per product).
  const auto& g = lin->weight.grad();
  EXPECT_EQ(g.scalar_type(), torch::kFloat);
  EXPECT_EQ(lin->weight.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(g, grad_fp32, /*rtol=*/2e-2, /*atol=*/2e-2));
  EXPECT_FALSE(torch::equal(g, grad_fp32));  // it really ran in bf16
}

}  // namespace
}  // namespace scorch::learner
