// `scorch inspect RUN_DIR [--json] [--html [--output FILE]]`
// `scorch inspect RUN_DIR --rollouts STEP [--limit N] [--color auto|always|never] [--json]`
// `scorch inspect --compare A B [--json]`
//   Summarises a run directory (stages, steps, best/last eval, time split by stage,
//   throughput, checkpoints and sizes, warnings), writes the self-contained HTML report
//   (RUN_DIR/report.html by default), pretty-prints one step's sampled trajectories with
//   segments coloured by kind (colour on a TTY only), or puts two runs side by side.
//   The logic lives in tools/inspect (scorch_inspect).
// Exit status 1 with a message naming the problem (missing folder, unknown step, ...).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "scorch/inspect/html_report.h"
#include "scorch/inspect/rollout_view.h"
#include "scorch/inspect/run_report.h"

namespace scorch::app {
namespace {

struct InspectArgs {
  std::string run;
  std::vector<std::string> compare;
  bool json = false;
  bool html = false;
  std::string output;
  int64_t rollouts_step = -1;
  bool rollouts = false;
  size_t limit = 0;
  std::string color = "auto";
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "scorch inspect: %s\n", what.c_str());
  throw CommandExit{1};
}

inspect::RunData Load(const std::string& path) {
  auto run = inspect::LoadRun(path);
  if (!run.ok()) Fail(run.status().message());
  return std::move(run).value();
}

bool UseColor(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) && (no_color == nullptr || *no_color == '\0') &&
         !(term != nullptr && std::string(term) == "dumb");
}

void RunInspect(const InspectArgs& a) {
  if (!a.compare.empty()) {
    if (!a.run.empty() || a.html || a.rollouts) {
      Fail("--compare A B takes the two runs itself; it cannot be combined with RUN_DIR, --html or --rollouts");
    }
    auto sa = inspect::SummarizeRun(Load(a.compare[0]));
    auto sb = inspect::SummarizeRun(Load(a.compare[1]));
    if (a.json) {
      std::cout << nlohmann::json{{"a", sa}, {"b", sb}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << inspect::FormatComparison(sa, sb);
    }
    return;
  }
  if (a.run.empty()) Fail("give a run directory (scorch inspect runs/NAME) or --compare A B");
  if (a.rollouts) {
    auto file = inspect::LoadRollouts(a.run, a.rollouts_step);
    if (!file.ok()) Fail(file.status().message());
    if (a.json) {
      for (size_t i = 0; i < file->trajectories.size() && (a.limit == 0 || i < a.limit); ++i) {
        std::cout << file->trajectories[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      }
    } else {
      std::cout << inspect::FormatRollouts(*file, UseColor(a.color), a.limit);
    }
    return;
  }
  inspect::RunData run = Load(a.run);
  if (a.html) {
    std::string out = a.output.empty() ? (run.root / "report.html").string() : a.output;
    Status st = inspect::WriteHtmlReport(run, out);
    if (!st.ok()) Fail(st.message());
    std::fprintf(stderr, "wrote %s\n", out.c_str());
  }
  auto summary = inspect::SummarizeRun(run);
  if (a.json) {
    std::cout << summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (!a.html) {
    std::cout << inspect::FormatSummary(summary);
  }
}

}  // namespace

void RegisterInspectCommand(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect", "Summarise a run directory (terminal, JSON, HTML report, rollouts, compare)");
  cmd->add_option("run", args->run, "Run directory, e.g. runs/NAME");
  cmd->add_flag("--json", args->json, "Print machine-readable JSON instead of the text summary");
  cmd->add_flag("--html", args->html, "Write the self-contained HTML report (RUN_DIR/report.html)");
  cmd->add_option("-o,--output", args->output, "Where --html writes the report");
  cmd->add_option("--compare", args->compare, "Put two runs side by side: --compare A B")->expected(2);
  auto* ro = cmd->add_option("--rollouts", args->rollouts_step, "Pretty-print the sampled trajectories of global step STEP");
  cmd->add_option("--limit", args->limit, "With --rollouts: at most N trajectories (0 = all)");
  cmd->add_option("--color", args->color, "With --rollouts: colour segments (auto = only on a terminal)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->callback([args, ro] {
    args->rollouts = ro->count() > 0;
    RunInspect(*args);
  });
}

}  // namespace scorch::app
