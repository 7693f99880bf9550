// The mpirun layout end to end (mpi_job.h), with `mpirun --oversubscribe` on this host:
//   * a 5-rank job (orchestrator, learner, reward service, 2 rollout workers) runs the
//     shortened quickstart to completion, grading through the reward rank;
//   * a rollout rank killed with SIGKILL mid-step does not end the job and its work is redone;
//     an elastic worker (`scorch rollout --connect --token-file`) joins mid-job and receives
//     work; a worker with a wrong token is refused, and the orchestrator logs it;
//   * the MPMD form (`scorch orchestrator : scorch learner : scorch rollout`) runs a job;
//   * `scorch submit` launches the layout and exits with the job's outcome.
// Every rank's log lands in runs/NAME/logs/<role>-<rank>.log.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "process_helpers.h"
#include "scorch/common/metrics_writer.h"
#include "scorch/common/testing/temp_dir.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using e2e::Slurp;
using e2e::Spawn;
using e2e::SpawnProgram;
using e2e::Wait;
using e2e::WaitForLine;

const std::string kConfig = std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml";

// mpirun's own flags: several ranks on 2 cores, no pinning, and a dead rank does not end the
// job (OpenMPI 4 ends every rank when one dies unless told otherwise).
std::vector<std::string> MpirunFlags() {
  std::vector<std::string> f = {"--oversubscribe", "--bind-to", "none", "--enable-recovery",
                                "--mca", "orte_abort_on_non_zero_status", "0"};
  if (::geteuid() == 0) f.push_back("--allow-run-as-root");
  return f;
}

std::vector<std::string> Sets(const std::vector<std::string>& kv) {
  std::vector<std::string> out;
  for (const auto& s : kv) {
    out.push_back("--set");
    out.push_back(s);
  }
  return out;
}

// The shortened quickstart: every stage kind, a few steps each.
std::vector<std::string> ShortJob(const fs::path& runs, const std::string& name) {
  return Sets({"job.runs_dir=" + runs.string(), "job.name=" + name, "job.threads=1", "stages.0.steps=6",
               "stages.1.steps=3", "stages.2.steps=1", "stages.2.batch_prompts=8", "stages.3.steps=2",
               "stages.4.steps=1", "stages.4.batch_prompts=8", "stages.5.steps=2", "stages.5.batch_prompts=4",
               "stages.6.steps=1", "stages.6.batch_prompts=8"});
}

// Kills a child still running when a test returns early (a failed ASSERT), so no job
// outlives its test.
struct ChildGuard {
  pid_t pid;
  ~ChildGuard() {
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGTERM);
      Wait(pid, std::chrono::seconds(10));
    }
  }
};

// runs/NAME/outcome.json's state. With recovery enabled mpirun exits 0 whatever the job did,
// so the orchestrator's own record is what says whether it finished.
std::string OutcomeState(const fs::path& run) {
  json j = json::parse(Slurp(run / "outcome.json"), nullptr, false);
  return j.is_object() ? j.value("state", "?") + (j.value("error", "").empty() ? "" : ": " + j.value("error", ""))
                       : "(no outcome.json)";
}

// Every step once, in order.
void ExpectStepsOnce(const fs::path& metrics, size_t steps) {
  auto records = MetricsWriter::ReadAll(metrics);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), steps) << "(sft-correct is skipped: so short an SFT collects no trajectories)";
  for (size_t i = 0; i < records->size(); ++i) {
    EXPECT_EQ((*records)[i]["step"].get<int64_t>(), static_cast<int64_t>(i + 1)) << (*records)[i].dump();
  }
}

// The pid a rank logged at start ("... rank N (pid P) ...").
pid_t LoggedPid(const fs::path& log) {
  std::smatch m;
  const std::string text = Slurp(log);
  static const std::regex kPid(R"(rank \d+ \(pid (\d+)\))");
  return std::regex_search(text, m, kPid) ? static_cast<pid_t>(std::stol(m[1])) : -1;
}

std::string RunLogs(const fs::path& run) {
  std::string all;
  if (!fs::exists(run / "logs")) return all;
  for (const auto& e : fs::directory_iterator(run / "logs")) {
    all += "--- " + e.path().filename().string() + " ---\n" + Slurp(e.path());
  }
  return all;
}

TEST(MpirunLayout, FiveRanksRunTheShortQuickstart) {
  testing::TempDir tmp;
  std::vector<std::string> args = MpirunFlags();
  for (const auto& a : std::vector<std::string>{"-np", "5", SCORCH_BINARY, "run", kConfig}) args.push_back(a);
  for (const auto& a : ShortJob(tmp.path(), "five")) args.push_back(a);
  for (const auto& a : Sets({"cluster.roles.reward=1", "cluster.roles.rollout=2"})) args.push_back(a);
  const pid_t mpirun = SpawnProgram("mpirun", args, tmp / "mpirun.txt");
  ChildGuard guard{mpirun};
  ASSERT_EQ(Wait(mpirun, std::chrono::seconds(240)), 0) << Slurp(tmp / "mpirun.txt");
  const fs::path run = tmp / "five";
  ASSERT_EQ(OutcomeState(run), "finished") << Slurp(tmp / "mpirun.txt");
  for (const char* log : {"orchestrator-0.log", "learner-0.log", "reward-0.log", "rollout-0.log", "rollout-1.log"}) {
    EXPECT_TRUE(fs::exists(run / "logs" / log)) << log;
  }
  const std::string orchestrator = Slurp(run / "logs" / "orchestrator-0.log");
  EXPECT_NE(orchestrator.find("mpirun layout: 5 ranks: orchestrator, 1 learner(s), 1 reward service(s), 2 rollout"),
            std::string::npos)
      << orchestrator;
  EXPECT_NE(orchestrator.find("job five finished"), std::string::npos) << orchestrator;
  // Graded through the reward rank, not in process.
  std::smatch served;
  const std::string reward = Slurp(run / "logs" / "reward-0.log");
  ASSERT_TRUE(std::regex_search(reward, served, std::regex(R"(served (\d+) request)"))) << reward;
  EXPECT_GT(std::stoi(served[1]), 0);
  // 6 + 3 + 1 + 1 + 2 + 1 steps (sft-correct has no data), each once; both eval tables written.
  ExpectStepsOnce(run / "metrics.jsonl", 14);
  EXPECT_EQ(json::parse(Slurp(run / "eval" / "05-eval-before.json"))["n"].get<int64_t>(), 8);
  EXPECT_EQ(json::parse(Slurp(run / "eval" / "07-eval-after.json"))["n"].get<int64_t>(), 8);
  // The join information is removed when the job ends.
  EXPECT_FALSE(fs::exists(run / "join.token"));
  EXPECT_FALSE(fs::exists(run / "control.addr"));
}

TEST(MpirunLayout, KilledRankElasticJoinAndWrongToken) {
  testing::TempDir tmp;
  const fs::path run = tmp / "elastic";
  // Two short sft steps (the elastic workers join meanwhile), then a large greedy eval on a
  // model that still writes to the token limit (the step a rank dies in), then a small one.
  std::vector<std::string> args = MpirunFlags();
  for (const auto& a : std::vector<std::string>{"-np", "4", SCORCH_BINARY, "run", kConfig}) args.push_back(a);
  for (const auto& a : Sets({"job.name=elastic", "job.runs_dir=" + tmp.path().string(), "job.threads=1",
                             "cluster.roles.rollout=2", "cluster.heartbeat_timeout_s=2", "rollout.slots=4",
                             "rollout.max_new_tokens=128", "stages.0.steps=0", "stages.1.steps=2", "stages.2.steps=0",
                             "stages.3.steps=0", "stages.4.steps=1", "stages.4.batch_prompts=384", "stages.5.steps=0",
                             "stages.6.steps=1", "stages.6.batch_prompts=16"})) {
    args.push_back(a);
  }
  const pid_t mpirun = SpawnProgram("mpirun", args, tmp / "mpirun.txt");
  ChildGuard guard{mpirun};
  const fs::path orchestrator_log = run / "logs" / "orchestrator-0.log";
  ASSERT_TRUE(WaitForLine(orchestrator_log, "mpirun layout:", std::chrono::seconds(120)))
      << Slurp(tmp / "mpirun.txt") << RunLogs(run);
  const std::string endpoint = [&] {
    std::string s = Slurp(run / "control.addr");
    return s.substr(0, s.find('\n'));
  }();
  ASSERT_EQ(endpoint.rfind("tcp://127.0.0.1:", 0), 0u) << "control.addr: '" << endpoint << "'";  // loopback unless configured
  EXPECT_EQ(fs::status(run / "join.token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // An elastic worker with the job's token, and one with a wrong token.
  const pid_t elastic = Spawn({"rollout", "--connect", endpoint, "--config", kConfig, "--rank", "7", "--threads", "1",
                               "--token-file", (run / "join.token").string(), "--set", "rollout.slots=4"},
                              tmp / "elastic.txt");
  ChildGuard elastic_guard{elastic};
  const pid_t intruder = Spawn({"rollout", "--connect", endpoint, "--config", kConfig, "--rank", "9", "--threads",
                                "1", "--token", "not-the-token"},
                               tmp / "intruder.txt");
  EXPECT_EQ(Wait(intruder, std::chrono::seconds(120)), 1) << Slurp(tmp / "intruder.txt");
  EXPECT_NE(Slurp(tmp / "intruder.txt").find("refused this worker"), std::string::npos) << Slurp(tmp / "intruder.txt");

  // Rollout rank 1 dies with SIGKILL once the large eval step is being handed out.
  ASSERT_TRUE(WaitForLine(orchestrator_log, "eval-before (eval", std::chrono::seconds(240))) << RunLogs(run);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const pid_t victim = LoggedPid(run / "logs" / "rollout-1.log");
  ASSERT_GT(victim, 0) << Slurp(run / "logs" / "rollout-1.log");
  const auto before_kill = MetricsWriter::ReadAll(run / "metrics.jsonl");
  ASSERT_TRUE(before_kill.ok());
  ASSERT_EQ(before_kill->size(), 2u) << "the eval step ended before the kill: the test needs a slower step";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);

  ASSERT_EQ(Wait(mpirun, std::chrono::seconds(420)), 0) << Slurp(tmp / "mpirun.txt") << RunLogs(run);
  ASSERT_EQ(OutcomeState(run), "finished") << RunLogs(run);
  EXPECT_EQ(Wait(elastic, std::chrono::seconds(30)), 0) << Slurp(tmp / "elastic.txt");

  const std::string log = Slurp(orchestrator_log);
  EXPECT_NE(log.find("rollout worker rollout-1 (rank 1) lost"), std::string::npos) << log;
  EXPECT_NE(log.find("refused Hello from rollout rank 9"), std::string::npos) << log;
  EXPECT_NE(log.find("wrong token"), std::string::npos) << log;
  EXPECT_NE(log.find("rollout rank 7 (rollout-7"), std::string::npos) << log;
  // The elastic worker received work.
  std::smatch m;
  const std::string elastic_out = Slurp(tmp / "elastic.txt");
  ASSERT_TRUE(std::regex_search(elastic_out, m, std::regex(R"(stopped \(ok\); (\d+) requests)"))) << elastic_out;
  EXPECT_GT(std::stoi(m[1]), 0) << elastic_out;

  auto records = MetricsWriter::ReadAll(run / "metrics.jsonl");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 4u);  // 2 sft + 2 eval steps, each once
  double lost = 0.0, redone = 0.0;
  for (size_t i = 0; i < records->size(); ++i) {
    EXPECT_EQ((*records)[i]["step"].get<int64_t>(), static_cast<int64_t>(i + 1));
    lost += (*records)[i].value("dispatch/workers_lost", 0.0);
    redone += (*records)[i].value("dispatch/redone", 0.0);
  }
  EXPECT_GE(lost, 1.0);
  EXPECT_GE(redone, 1.0) << "none of the killed rank's leases was re-queued (was it idle?)";
  EXPECT_EQ(json::parse(Slurp(run / "eval" / "05-eval-before.json"))["n"].get<int64_t>(), 384);
  EXPECT_EQ(json::parse(Slurp(run / "eval" / "07-eval-after.json"))["n"].get<int64_t>(), 16);
}

TEST(MpirunLayout, MpmdForm) {
  testing::TempDir tmp;
  const std::vector<std::string> job = ShortJob(tmp.path(), "mpmd");
  std::vector<std::string> args = MpirunFlags();
  auto add = [&args](std::vector<std::string> part) { args.insert(args.end(), part.begin(), part.end()); };
  add({"-np", "1", SCORCH_BINARY, "orchestrator", kConfig});
  add(job);
  add({":", "-np", "1", SCORCH_BINARY, "learner", kConfig});
  add(job);
  add({":", "-np", "2", SCORCH_BINARY, "rollout", "--config", kConfig});
  add(job);
  const pid_t mpirun = SpawnProgram("mpirun", args, tmp / "mpirun.txt");
  ChildGuard guard{mpirun};
  ASSERT_EQ(Wait(mpirun, std::chrono::seconds(240)), 0) << Slurp(tmp / "mpirun.txt") << RunLogs(tmp / "mpmd");
  ASSERT_EQ(OutcomeState(tmp / "mpmd"), "finished") << RunLogs(tmp / "mpmd");
  const std::string log = Slurp(tmp / "mpmd" / "logs" / "orchestrator-0.log");
  EXPECT_NE(log.find("4 ranks: orchestrator, 1 learner(s), 0 reward service(s) (grading in process), 2 rollout"),
            std::string::npos)
      << log;
  ExpectStepsOnce(tmp / "mpmd" / "metrics.jsonl", 14);
}

// `scorch submit` builds the mpirun line, runs it, and exits with the job's outcome.
TEST(MpirunLayout, SubmitLaunchesTheLayout) {
  testing::TempDir tmp;
  std::vector<std::string> args = {"submit", kConfig, "--oversubscribe"};
  for (const auto& a : ShortJob(tmp.path(), "submitted")) args.push_back(a);
  const pid_t submit = Spawn(args, tmp / "submit.txt");
  ChildGuard guard{submit};
  ASSERT_EQ(Wait(submit, std::chrono::seconds(240)), 0) << Slurp(tmp / "submit.txt") << RunLogs(tmp / "submitted");
  const std::string out = Slurp(tmp / "submit.txt");
  EXPECT_NE(out.find("job submitted: 3 ranks = orchestrator 1 + learner 1 + reward 0 + rollout 1"), std::string::npos)
      << out;
  EXPECT_NE(out.find("mpirun -np 3 --enable-recovery"), std::string::npos) << out;
  EXPECT_NE(out.find("scorch submit: the job finished"), std::string::npos) << out;
  EXPECT_EQ(OutcomeState(tmp / "submitted"), "finished");
  ExpectStepsOnce(tmp / "submitted" / "metrics.jsonl", 14);
}

// Ctrl-C on `scorch submit` stops the job after its step (mpirun's own SIGINT would kill
// every rank at once): the outcome says stopped, the exit status is 130, a checkpoint is there.
TEST(MpirunLayout, InterruptedSubmitStopsTheJobGracefully) {
  testing::TempDir tmp;
  std::vector<std::string> args = {"submit", kConfig, "--oversubscribe"};
  for (const auto& a : Sets({"job.runs_dir=" + tmp.path().string(), "job.name=stopped", "job.threads=1"})) {
    args.push_back(a);
  }
  const pid_t submit = Spawn(args, tmp / "submit.txt");
  ChildGuard guard{submit};
  ASSERT_TRUE(WaitForLine(tmp / "stopped" / "logs" / "orchestrator-0.log", "[sft-solve 3/", std::chrono::seconds(120)))
      << Slurp(tmp / "submit.txt");
  ASSERT_EQ(::kill(submit, SIGINT), 0);
  EXPECT_EQ(Wait(submit, std::chrono::seconds(120)), 130) << Slurp(tmp / "submit.txt");
  EXPECT_EQ(OutcomeState(tmp / "stopped").rfind("stopped", 0), 0u) << OutcomeState(tmp / "stopped");
  EXPECT_NE(Slurp(tmp / "submit.txt").find("continue it with scorch submit --resume"), std::string::npos);
  // The step it stopped after is checkpointed (the schedule's next one is at step 50).
  const std::string orchestrator = Slurp(tmp / "stopped" / "logs" / "orchestrator-0.log");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(orchestrator, m, std::regex(R"(stop requested: checkpointing step (\d+))")))
      << orchestrator;
  char name[32];
  std::snprintf(name, sizeof(name), "step-%06d", std::stoi(m[1]));
  EXPECT_TRUE(fs::exists(tmp / "stopped" / "checkpoints" / name / "MANIFEST.json")) << name;
}

TEST(MpirunLayout, WrongRankCountIsRefusedOnEveryRank) {
  testing::TempDir tmp;
  std::vector<std::string> args = MpirunFlags();
  for (const auto& a : std::vector<std::string>{"-np", "2", SCORCH_BINARY, "run", kConfig}) args.push_back(a);
  for (const auto& a : ShortJob(tmp.path(), "wrong")) args.push_back(a);
  const pid_t mpirun = SpawnProgram("mpirun", args, tmp / "mpirun.txt");
  ChildGuard guard{mpirun};
  EXPECT_GE(Wait(mpirun, std::chrono::seconds(60)), 0);  // mpirun's code says nothing under recovery
  const std::string out = Slurp(tmp / "mpirun.txt");
  EXPECT_NE(out.find("mpirun started 2 ranks but cluster.roles asks for 3"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "wrong" / "metrics.jsonl"));
}

// A rank that cannot reach the orchestrator (here: an advertised address nothing listens on)
// fails the job after cluster.peers_timeout_s, with an error naming who is missing and the
// setting; the ranks that could not connect give up on their own (orchestrator_watch.h).
TEST(MpirunLayout, UnreachableOrchestratorFailsAfterThePeersTimeout) {
  testing::TempDir tmp;
  std::vector<std::string> args = MpirunFlags();
  for (const auto& a : std::vector<std::string>{"-np", "3", SCORCH_BINARY, "run", kConfig}) args.push_back(a);
  for (const auto& a : ShortJob(tmp.path(), "unreachable")) args.push_back(a);
  // Bound to 127.0.0.1 only, so 127.0.0.2 (also loopback) refuses every connection.
  for (const auto& a : Sets({"cluster.advertise_host=127.0.0.2", "cluster.peers_timeout_s=3"})) args.push_back(a);
  const pid_t mpirun = SpawnProgram("mpirun", args, tmp / "mpirun.txt");
  ChildGuard guard{mpirun};
  EXPECT_GE(Wait(mpirun, std::chrono::seconds(120)), 0);
  const fs::path run = tmp / "unreachable";
  const std::string state = OutcomeState(run);
  EXPECT_EQ(state.rfind("failed: ", 0), 0u) << state << RunLogs(run);
  EXPECT_NE(state.find("for 1 rollout worker(s) and 1 learner(s)"), std::string::npos) << state;
  EXPECT_NE(state.find("cluster.peers_timeout_s is 3 s: raise it"), std::string::npos) << state;
  EXPECT_FALSE(fs::exists(run / "metrics.jsonl"));
}

// A model file one rank cannot read fails every rank before the job starts (no rank is left
// waiting for a peer that gave up).
TEST(MpirunLayout, UnreadableModelFileFailsEveryRankAtOnce) {
  testing::TempDir tmp;
  std::vector<std::string> args = MpirunFlags();
  for (const auto& a : std::vector<std::string>{"-np", "3", SCORCH_BINARY, "run", kConfig}) args.push_back(a);
  for (const auto& a : ShortJob(tmp.path(), "nomodel")) args.push_back(a);
  for (const auto& a : Sets({"model.init_config=" + (tmp / "missing.json").string()})) args.push_back(a);
  const pid_t mpirun = SpawnProgram("mpirun", args, tmp / "mpirun.txt");
  ChildGuard guard{mpirun};
  EXPECT_GE(Wait(mpirun, std::chrono::seconds(60)), 0);
  const std::string out = Slurp(tmp / "mpirun.txt");
  size_t count = 0;
  for (size_t at = out.find("model.init_config: cannot read"); at != std::string::npos;
       at = out.find("model.init_config: cannot read", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << out;
  EXPECT_FALSE(fs::exists(tmp / "nomodel" / "metrics.jsonl"));
}

}  // namespace
}  // namespace scorch
