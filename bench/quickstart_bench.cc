// quickstart_bench: where the quickstart's wall time goes, stage by stage, and how much of it is
// orchestration (everything that is not generating, grading, training or syncing weights).
//
// Runs `scorch run configs/quickstart.yaml` (shortened by default; --full for the real one) into
// a temporary runs folder, then reads its metrics.jsonl: per stage, the sum of time/step_s and of
// its parts (time/generate_s, time/grade_s, time/train_s, time/sync_s). Orchestration overhead =
// step time minus those parts; the baseline in the same run is the process's own wall time, so
// start-up (model init, grader pool, thread start) shows up as "outside steps".
// Writes --out (bench/run_all.sh folds it into orchestrator.json under "quickstart").
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/metrics_writer.h"
#include "scorch/common/progress.h"

namespace fs = std::filesystem;
using nlohmann::json;

int main(int argc, char** argv) {
  std::string out = "bench/results/quickstart.json";
  bool full = false;
  std::string binary = std::string(SCORCH_SOURCE_DIR) + "/build/bin/scorch";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--full") full = true;
    else if (a == "--scorch" && i + 1 < argc) binary = argv[++i];
    else {
      std::fprintf(stderr, "usage: quickstart_bench [--out FILE] [--full] [--scorch BIN]\n");
      return 2;
    }
  }
  char tmpl[] = "/tmp/scorch-qsbench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const fs::path runs = tmpl;
  std::vector<std::string> args = {binary, "run", std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml",
                                   "--set", "job.runs_dir=" + runs.string(), "--set", "job.name=bench"};
  if (!full) {
    for (const char* s : {"stages.0.steps=200", "stages.1.steps=20", "stages.2.steps=2", "stages.3.steps=10",
                          "stages.4.steps=1", "stages.5.steps=5", "stages.6.steps=1"}) {
      args.push_back("--set");
      args.push_back(s);
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(SCORCH_SOURCE_DIR) != 0) _exit(126);  // job files name models relative to the repo root
    FILE* f = std::freopen((runs / "log.txt").c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), fileno(stderr));
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    execv(cargs[0], cargs.data());
    _exit(127);
  }
  // While it runs: a status line (on a terminal) with the job's last step and stage, read
  // from its metrics.jsonl every half second.
  int status = 0;
  {
    scorch::progress::ProgressMeter meter("bench quickstart", /*total=*/0);
    const fs::path metrics = runs / "bench" / "metrics.jsonl";
    while (waitpid(pid, &status, WNOHANG) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      std::ifstream in(metrics);
      std::string line, last;
      while (std::getline(in, line)) {
        if (!line.empty()) last = line;
      }
      const json r = json::parse(last, nullptr, false);
      if (!r.is_object()) continue;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      meter.Update(r.value("step", int64_t{0}), "stage " + r.value("stage", std::string("?")) + ", " +
                                                    scorch::progress::FormatDuration(elapsed) + " elapsed");
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "quickstart_bench: scorch run failed; see %s\n", (runs / "log.txt").c_str());
    return 1;
  }
  auto records = scorch::MetricsWriter::ReadAll(runs / "bench" / "metrics.jsonl");
  if (!records.ok()) {
    std::fprintf(stderr, "quickstart_bench: %s\n", records.status().ToString().c_str());
    return 1;
  }
  struct Split {
    double steps = 0, step_s = 0, generate = 0, grade = 0, train = 0, sync = 0;
  };
  std::map<std::string, Split> by_stage;
  std::vector<std::string> order;
  for (const auto& r : *records) {
    const std::string stage = r.value("stage", "?");
    if (!by_stage.count(stage)) order.push_back(stage);
    Split& s = by_stage[stage];
    s.steps += 1;
    s.step_s += r.value("time/step_s", 0.0);
    s.generate += r.value("time/generate_s", 0.0);
    s.grade += r.value("time/grade_s", 0.0);
    s.train += r.value("time/train_s", 0.0);
    s.sync += r.value("time/sync_s", 0.0);
  }
  json stages = json::array();
  double total_steps = 0, total_overhead = 0;
  for (const auto& name : order) {
    const Split& s = by_stage[name];
    const double overhead = std::max(0.0, s.step_s - s.generate - s.grade - s.train - s.sync);
    total_steps += s.step_s;
    total_overhead += overhead;
    stages.push_back({{"stage", name},
                      {"steps", s.steps},
                      {"seconds", s.step_s},
                      {"generate_s", s.generate},
                      {"grade_s", s.grade},
                      {"train_s", s.train},
                      {"sync_s", s.sync},
                      {"orchestration_s", overhead},
                      {"share_of_wall", s.step_s / wall}});
  }
  json doc = {{"config", full ? "configs/quickstart.yaml" : "configs/quickstart.yaml, shortened (see quickstart_bench.cc)"},
              {"wall_s", wall},
              {"in_steps_s", total_steps},
              {"outside_steps_s", wall - total_steps},
              {"orchestration_s", total_overhead},
              {"orchestration_share_of_wall", total_overhead / wall},
              {"target_orchestration_share", 0.02},
              {"stages", stages},
              {"notes", "orchestration = step time minus generate, grade, train and sync; outside_steps = process "
                        "start-up and shutdown (model init, grader pool fork, threads), stage and checkpoint "
                        "transitions"}};
  std::ofstream(out) << doc.dump(2) << "\n";
  std::printf("quickstart: %.1f s wall, orchestration %.2f%% of wall; written to %s\n", wall,
              100.0 * total_overhead / wall, out.c_str());
  fs::remove_all(runs);
  return 0;
}
