// reward_bench: math-grader throughput and latency on the conformance cases.
// Usage: reward_bench [--out FILE] [--cases FILE] [--rounds N]
// Writes {"grader": {...}} so other sections (e.g. "http") can be added to the same file; an
// existing file's other top-level keys are kept.
// Baseline measured in the same run: the string-normalisation-only cost (extraction +
// normalisation, no parsing), so per-case figures can be read against it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "scorch/reward/extract.h"
#include "scorch/reward/grader.h"
#include "scorch/reward/grader_pool.h"
#include "scorch/reward/normalize.h"

namespace {

using Clock = std::chrono::steady_clock;
using scorch::reward::GradeRequest;
using scorch::reward::Grader;
using scorch::reward::GraderOptions;

struct Case {
  GradeRequest req;
  GraderOptions opt;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path, cases_path = std::string(SCORCH_SOURCE_DIR) + "/../shared/conformance/math_grader_cases.jsonl";
  int rounds = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
    else if (!std::strcmp(argv[i], "--cases") && i + 1 < argc) cases_path = argv[++i];
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
  }
  std::ifstream in(cases_path);
  if (!in) {
    std::fprintf(stderr, "reward_bench: cannot open %s\n", cases_path.c_str());
    return 2;
  }
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto c = nlohmann::json::parse(line);
    Case k;
    k.req.gold = c["gold"].get<std::string>();
    k.req.pred = c["pred"].get<std::string>();
    k.req.pred_is_full_response = c.value("pred_is_full_response", false);
    k.req.gold_is_full_response = c.value("gold_is_full_response", false);
    cases.push_back(std::move(k));
  }
  GraderOptions opt;
  Grader grader(opt);

  // Per-case latency, single thread (median over rounds for each case).
  std::vector<double> per_case_us;
  std::vector<double> all_us;
  for (const Case& c : cases) {
    std::vector<double> samples;
    for (int r = 0; r < rounds; ++r) {
      auto t0 = Clock::now();
      auto v = grader.Grade(c.req);
      double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      (void)v;
      samples.push_back(us);
      all_us.push_back(us);
    }
    per_case_us.push_back(Percentile(samples, 0.5));
  }

  // Baseline: extraction + normalisation only.
  std::vector<double> base_us;
  for (const Case& c : cases) {
    auto t0 = Clock::now();
    for (int r = 0; r < rounds; ++r) {
      std::string g = c.req.gold_is_full_response ? scorch::reward::ExtractAnswer(c.req.gold).answer : c.req.gold;
      std::string p = c.req.pred_is_full_response ? scorch::reward::ExtractAnswer(c.req.pred).answer : c.req.pred;
      auto a = scorch::reward::NormalizeAnswer(g);
      auto b = scorch::reward::NormalizeAnswer(p);
      (void)a;
      (void)b;
    }
    base_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / rounds);
  }

  // Throughput with 1 and 2 threads (in-process Grader; GiNaC sections serialise).
  nlohmann::json threads_json = nlohmann::json::array();
  for (int threads : {1, 2}) {
    auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int r = 0; r < rounds; ++r) {
          for (size_t i = static_cast<size_t>(t); i < cases.size(); i += static_cast<size_t>(threads)) {
            auto v = grader.Grade(cases[i].req);
            (void)v;
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    double gps = static_cast<double>(cases.size()) * rounds / secs;
    threads_json.push_back({{"threads", threads}, {"grades_per_s", gps}});
    std::printf("threads=%d  %.0f grades/s\n", threads, gps);
  }

  // Throughput through the isolated GraderPool (worker processes; GiNaC runs in parallel).
  nlohmann::json pool_json = nlohmann::json::array();
  std::vector<GradeRequest> batch;
  for (int r = 0; r < rounds; ++r) {
    for (const Case& c : cases) batch.push_back(c.req);
  }
  for (int workers : {1, 2}) {
    scorch::reward::GraderPoolOptions po;
    po.num_workers = workers;
    auto pool = scorch::reward::GraderPool::Create(po);
    if (!pool.ok()) {
      std::fprintf(stderr, "reward_bench: %s\n", pool.status().ToString().c_str());
      return 1;
    }
    auto t0 = Clock::now();
    auto verdicts = pool.value()->GradeBatch(batch);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    double gps = static_cast<double>(verdicts.size()) / secs;
    pool_json.push_back({{"workers", workers}, {"grades_per_s", gps}});
    std::printf("pool workers=%d  %.0f grades/s\n", workers, gps);
  }

  double p50 = Percentile(per_case_us, 0.5), p99 = Percentile(per_case_us, 0.99);
  double max = *std::max_element(per_case_us.begin(), per_case_us.end());
  std::printf("per-case latency (median of %d rounds): p50 %.1f us  p99 %.1f us  max %.1f us\n", rounds, p50, p99,
              max);
  std::printf("all samples: p50 %.1f us  p99 %.1f us  max %.1f us\n", Percentile(all_us, 0.5),
              Percentile(all_us, 0.99), *std::max_element(all_us.begin(), all_us.end()));
  std::printf("baseline (extract+normalise only): p50 %.1f us\n", Percentile(base_us, 0.5));
  std::printf("target: p50 <= 50 us (2.5 ms / 50), p99 < 1000 us: %s\n", (p50 <= 50 && p99 < 1000) ? "met" : "NOT met");

  nlohmann::json result;
  result["grader"] = {
      {"cases", cases.size()},
      {"rounds", rounds},
      {"throughput", threads_json},
      {"pool_throughput", pool_json},
      {"latency_us_per_case", {{"p50", p50}, {"p99", p99}, {"max", max}}},
      {"latency_us_all_samples",
       {{"p50", Percentile(all_us, 0.5)}, {"p99", Percentile(all_us, 0.99)},
        {"max", *std::max_element(all_us.begin(), all_us.end())}}},
      {"baseline_extract_normalize_us_p50", Percentile(base_us, 0.5)},
      {"target", {{"p50_us_max", 50.0}, {"p99_us_max", 1000.0}, {"met", p50 <= 50 && p99 < 1000}}},
      {"reference", "Math-Verify 2.5 ms median per case (ALGORITHMS §9)"},
  };
  if (!out_path.empty()) {
    nlohmann::json existing;
    std::ifstream old(out_path);
    if (old) {
      try {
        old >> existing;
      } catch (...) {
        existing = nlohmann::json::object();
      }
    }
    if (!existing.is_object()) existing = nlohmann::json::object();
    existing["grader"] = result["grader"];
    std::ofstream out(out_path);
    out << existing.dump(2) << "\n";
  }
  return 0;
}
