// `scorch submit`: the hostfile parser, by-slot placement, the mpirun argv and its shell
// quoting (app/commands/mpirun_command.h, linked directly), and the real binary's --dry-run
// and launch paths (SCORCH_BINARY; `--mpirun /bin/echo` stands in for mpirun, so nothing is
// started).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mpirun_command.h"

namespace scorch::app {
namespace {

namespace fs = std::filesystem;

config::RolesConfig Roles(int learner, int reward, int rollout) {
  config::RolesConfig r;
  r.learner = learner;
  r.reward = reward;
  r.rollout = rollout;
  return r;
}

// ---- hostfiles ----

TEST(Hostfile, ParsesOpenMpiSyntax) {
  auto hosts = ParseHostfile(
      "# the cluster\n"
      "\n"
      "node1 slots=4   # GPU box\n"
      "  node2 slots = 2 max_slots=3\n"
      "10.0.0.7 count=8\n"
      "node1 slots=2\n",  // a repeated host adds its slots
      "hosts.txt");
  ASSERT_TRUE(hosts.ok()) << hosts.status().ToString();
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[0].host, "node1");
  EXPECT_EQ((*hosts)[0].slots, 6);
  EXPECT_EQ((*hosts)[0].line, 3);
  EXPECT_EQ((*hosts)[1].host, "node2");
  EXPECT_EQ((*hosts)[1].slots, 2);
  EXPECT_EQ((*hosts)[1].max_slots, 3);
  EXPECT_EQ((*hosts)[2].slots, 8);
  EXPECT_EQ(TotalSlots(*hosts), 16);
}

TEST(Hostfile, HostWithoutSlotsLeavesTheTotalToMpirun) {
  auto hosts = ParseHostfile("node1 slots=2\nnode2\n", "h");
  ASSERT_TRUE(hosts.ok());
  EXPECT_EQ((*hosts)[1].slots, 0);
  EXPECT_EQ(TotalSlots(*hosts), -1);
  EXPECT_TRUE(MapRanksBySlot(*hosts, 3).empty());
}

TEST(Hostfile, BadLinesNameTheFileAndLine) {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"node1 slots=2\n# ok\nnode2 slotz=3\n", "hosts.txt:3: unknown key \"slotz\""},
      {"node1 slots=two\n", "hosts.txt:1: slots must be a whole number >= 1, got \"two\""},
      {"node1 slots=0\n", "hosts.txt:1: slots must be a whole number"},
      {"\nnode1 slots\n", "hosts.txt:2: expected KEY=VALUE"},
      {"node1 slots=\n", "hosts.txt:1: expected KEY=VALUE"},
      {"node1 4\n", "hosts.txt:1: expected KEY=VALUE"},
      {"slots=4\n", "hosts.txt:1: expected a host name first"},
      {"node1 slots=8 max_slots=4\n", "hosts.txt:1: slots=8 is above max_slots=4"},
      {"# nothing\n\n", "hosts.txt: no hosts"},
  };
  for (const auto& c : cases) {
    auto hosts = ParseHostfile(c.text, "hosts.txt");
    ASSERT_FALSE(hosts.ok()) << c.text;
    EXPECT_TRUE(hosts.status().IsInvalidArgument());
    EXPECT_NE(hosts.status().ToString().find(c.expect), std::string::npos)
        << "text: " << c.text << "\nerror: " << hosts.status().ToString();
  }
}

TEST(Hostfile, LoadNamesAMissingFile) {
  auto hosts = LoadHostfile("/nonexistent/hostfile");
  ASSERT_FALSE(hosts.ok());
  EXPECT_NE(hosts.status().ToString().find("/nonexistent/hostfile"), std::string::npos);
}

// ---- placement ----

TEST(Placement, RolesInClusterOrder) {
  const auto ranks = AssignRoles(Roles(2, 1, 3));
  ASSERT_EQ(ranks.size(), 7u);
  const char* want[] = {"orchestrator", "learner", "learner", "reward", "rollout", "rollout", "rollout"};
  for (size_t i = 0; i < ranks.size(); ++i) EXPECT_STREQ(config::RankRoleName(ranks[i].role), want[i]) << i;
  EXPECT_EQ(ranks[2].role_rank, 1);
  EXPECT_EQ(ranks[6].role_rank, 2);
}

TEST(Placement, FillsHostsInOrderThenSpreadsTheRest) {
  auto hosts = ParseHostfile("a slots=2\nb slots=3\n", "h");
  ASSERT_TRUE(hosts.ok());
  EXPECT_EQ(MapRanksBySlot(*hosts, 4), (std::vector<std::string>{"a", "a", "b", "b"}));
  // 5 slots, 8 ranks: 3 extra, a takes 2 and b 1; ranks stay contiguous per host.
  EXPECT_EQ(MapRanksBySlot(*hosts, 8), (std::vector<std::string>{"a", "a", "a", "a", "b", "b", "b", "b"}));
}

TEST(Placement, MaxSlotsCapsOversubscription) {
  auto hosts = ParseHostfile("a slots=1 max_slots=1\nb slots=1\n", "h");
  ASSERT_TRUE(hosts.ok());
  EXPECT_EQ(MapRanksBySlot(*hosts, 3), (std::vector<std::string>{"a", "b", "b"}));
  auto capped = ParseHostfile("a slots=1 max_slots=1\nb slots=1 max_slots=2\n", "h");
  ASSERT_TRUE(capped.ok());
  EXPECT_TRUE(MapRanksBySlot(*capped, 4).empty());  // does not fit even oversubscribed
}

TEST(Placement, LayoutTableGroupsRanks) {
  auto hosts = ParseHostfile("node1 slots=3\nnode2 slots=5\n", "h");
  ASSERT_TRUE(hosts.ok());
  const auto roles = Roles(1, 0, 6);
  EXPECT_EQ(FormatLayout(roles, MapRanksBySlot(*hosts, roles.total())),
            "  rank   role           host\n"
            "  0      orchestrator   node1\n"
            "  1      learner 0      node1\n"
            "  2      rollout 0      node1\n"
            "  3-7    rollout 1-5    node2\n");
  EXPECT_EQ(FormatLayout(Roles(2, 1, 2), {}),
            "  rank   role\n"
            "  0      orchestrator\n"
            "  1-2    learner 0-1\n"
            "  3      reward 0\n"
            "  4-5    rollout 0-1\n");
}

// ---- the mpirun argv ----

MpirunOptions Basic() {
  MpirunOptions o;
  o.scorch_binary = "/opt/scorch/bin/scorch";
  o.job_path = "/home/u/job.yaml";
  return o;
}

TEST(MpirunArgv, DefaultCommand) {
  EXPECT_EQ(BuildMpirunArgv(Roles(1, 0, 2), Basic()),
            (std::vector<std::string>{"mpirun", "-np", "4", "--enable-recovery", "--mca",
                                      "orte_abort_on_non_zero_status", "0", "--bind-to", "none",
                                      "/opt/scorch/bin/scorch", "run", "/home/u/job.yaml"}));
}

TEST(MpirunArgv, EveryOptionInItsPlace) {
  MpirunOptions o = Basic();
  o.mpirun = "/usr/bin/mpirun";
  o.hostfile = "/home/u/hosts";
  o.oversubscribe = true;
  o.as_root = true;
  o.forward_token = true;
  o.extra_args = {"--mca", "btl_tcp_if_include", "eth0"};
  o.overrides = {"cluster.bind_host=0.0.0.0", "job.runs_dir=/shared/runs"};
  EXPECT_EQ(ShellJoin(BuildMpirunArgv(Roles(2, 1, 4), o)),
            "/usr/bin/mpirun -np 8 --enable-recovery --mca orte_abort_on_non_zero_status 0 "
            "--hostfile /home/u/hosts --oversubscribe --allow-run-as-root --bind-to none -x SCORCH_TOKEN "
            "--mca btl_tcp_if_include eth0 /opt/scorch/bin/scorch run /home/u/job.yaml "
            "--set cluster.bind_host=0.0.0.0 --set job.runs_dir=/shared/runs");
}

TEST(MpirunArgv, AsRootFlagOnlyForRoot) {
  MpirunOptions o = Basic();
  auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  EXPECT_FALSE(has(BuildMpirunArgv(Roles(1, 0, 1), o), "--allow-run-as-root"));
  o.as_root = true;
  EXPECT_TRUE(has(BuildMpirunArgv(Roles(1, 0, 1), o), "--allow-run-as-root"));
}

TEST(MpirunArgv, Resume) {
  MpirunOptions o = Basic();
  o.job_path.clear();
  o.resume_dir = "/shared/runs/myjob";
  const auto argv = BuildMpirunArgv(Roles(1, 0, 1), o);
  EXPECT_EQ(ShellJoin({argv.end() - 3, argv.end()}), "run --resume /shared/runs/myjob");
}

TEST(MpirunArgv, ExtraArgsMustNotSetTheRankCount) {
  EXPECT_TRUE(CheckExtraMpiArgs({"--mca", "btl", "tcp,self"}, 4).ok());
  Status wrong = CheckExtraMpiArgs({"-np", "8"}, 4);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.ToString().find("-np 8 does not match the job: cluster.roles adds up to 4 ranks"),
            std::string::npos)
      << wrong.ToString();
  EXPECT_FALSE(CheckExtraMpiArgs({"--np=4"}, 4).ok());
  EXPECT_FALSE(CheckExtraMpiArgs({"-n", "4"}, 4).ok());
}

// ---- quoting ----

TEST(Quoting, SafeWordsStayPlain) {
  EXPECT_EQ(ShellQuote("/usr/bin/mpirun"), "/usr/bin/mpirun");
  EXPECT_EQ(ShellQuote("cluster.roles.rollout=2"), "cluster.roles.rollout=2");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("/home/a b/job one.yaml"), "'/home/a b/job one.yaml'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
}

// The quoted line, run by a real shell, gives back exactly the words.
TEST(Quoting, RoundTripsThroughSh) {
  const std::vector<std::string> words = {"/home/a b/job.yaml", "it's", "x=\"y\"", "$HOME", "tab\there", "a\\b", ""};
  std::vector<std::string> cmd = {"printf", "[%s]\\n"};
  cmd.insert(cmd.end(), words.begin(), words.end());
  const std::string line = ShellJoin(cmd);
  FILE* p = popen(("sh -c " + ShellQuote(line)).c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0);
  std::string want;
  for (const auto& w : words) want += "[" + w + "]\n";
  EXPECT_EQ(out, want);
}

TEST(Quoting, SplitShellWords) {
  auto w = SplitShellWords("  --mca btl_tcp_if_include 'eth0 x' \"a\\\"b\" c\\ d -x NCCL_DEBUG ");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"--mca", "btl_tcp_if_include", "eth0 x", "a\"b", "c d", "-x", "NCCL_DEBUG"}));
  EXPECT_TRUE(SplitShellWords("")->empty());
  EXPECT_FALSE(SplitShellWords("--mca 'oops").ok());
}

// ---- the real binary ----

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// Runs `scorch ARGS` from the source tree through sh (ARGS is shell text), with SLURM_JOB_ID unset.
Result Scorch(const std::string& args, const std::string& env = "") {
  const std::string cmd = "cd " + ShellQuote(SCORCH_SOURCE_DIR) + " && env -u SLURM_JOB_ID -u SCORCH_TOKEN " + env +
                          " " + ShellQuote(SCORCH_BINARY) + " " + args + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool Has(const Result& r, const std::string& s) { return r.out.find(s) != std::string::npos; }

class SubmitCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scorch submit test " + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(SubmitCli, DryRunPrintsLayoutAndCommand) {
  Result r = Scorch("submit configs/quickstart.yaml --dry-run --oversubscribe --set cluster.roles.rollout=2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(Has(r, "job quickstart: 4 ranks = orchestrator 1 + learner 1 + reward 0 + rollout 2")) << r.out;
  EXPECT_TRUE(Has(r, "  0      orchestrator\n  1      learner 0\n  2-3    rollout 0-1\n")) << r.out;
  const std::string tail = std::string(" run ") + SCORCH_SOURCE_DIR + "/configs/quickstart.yaml --set cluster.roles.rollout=2\n";
  EXPECT_TRUE(Has(r, "mpirun -np 4 --enable-recovery --mca orte_abort_on_non_zero_status 0 --oversubscribe ")) << r.out;
  EXPECT_TRUE(Has(r, "--bind-to none " + ShellQuote(fs::canonical(SCORCH_BINARY).string()) + tail)) << r.out;
  EXPECT_EQ(Has(r, "--allow-run-as-root"), geteuid() == 0) << r.out;
  EXPECT_FALSE(Has(r, "-x SCORCH_TOKEN")) << r.out;
  EXPECT_TRUE(Has(r, "dry run: nothing was started")) << r.out;
}

TEST_F(SubmitCli, ForwardsTheTokenWhenSet) {
  Result r = Scorch("submit configs/quickstart.yaml --dry-run --oversubscribe", "SCORCH_TOKEN=s3cret");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(Has(r, "--bind-to none -x SCORCH_TOKEN ")) << r.out;
  EXPECT_FALSE(Has(r, "s3cret")) << "the token's value must not be printed:\n" << r.out;
}

TEST_F(SubmitCli, QuotesPathsWithSpaces) {
  std::ifstream quickstart(std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml");
  const std::string job = Write("job one.yaml", std::string(std::istreambuf_iterator<char>(quickstart), {}));
  const std::string hosts = Write("my hosts", "localhost slots=8\n");
  Result r = Scorch("submit " + ShellQuote(job) + " --hosts " + ShellQuote(hosts) + " --dry-run");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(Has(r, "--hostfile " + ShellQuote(hosts) + " ")) << r.out;
  EXPECT_TRUE(Has(r, " run " + ShellQuote(job) + "\n")) << r.out;
  EXPECT_TRUE(Has(r, "  0      orchestrator   localhost\n")) << r.out;
}

TEST_F(SubmitCli, BadHostfileLineIsNamed) {
  const std::string hosts = Write("hosts", "node1 slots=2\n\nnode2 slot=2\n");
  Result r = Scorch("submit configs/quickstart.yaml --dry-run --hosts " + ShellQuote(hosts));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(Has(r, hosts + ":3: unknown key \"slot\"")) << r.out;
}

TEST_F(SubmitCli, TooFewSlotsFailsUnlessOversubscribed) {
  const std::string hosts = Write("hosts", "localhost slots=2\n");
  const std::string base = "submit configs/quickstart.yaml --mpirun /bin/echo --set cluster.roles.rollout=3 --hosts " +
                           ShellQuote(hosts);
  Result refused = Scorch(base);
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_TRUE(Has(refused, "has 2 slots for 5 ranks")) << refused.out;
  EXPECT_TRUE(Has(refused, "--oversubscribe")) << refused.out;
  Result dry = Scorch(base + " --dry-run");  // a dry run only warns
  EXPECT_EQ(dry.code, 0) << dry.out;
  EXPECT_TRUE(Has(dry, "warning: ")) << dry.out;
  // With --oversubscribe it runs "mpirun" (here /bin/echo, which prints its arguments); echo
  // writes no outcome.json, so the job did not finish.
  Result ran = Scorch(base + " --oversubscribe");
  EXPECT_TRUE(Has(ran, "\n-np 5 --enable-recovery --mca orte_abort_on_non_zero_status 0 --hostfile ")) << ran.out;
  EXPECT_EQ(ran.code, 1) << ran.out;
  EXPECT_TRUE(Has(ran, "mpirun exited with status 0 and the job wrote no ")) << ran.out;
}

// A stand-in mpirun that exits 0 after writing `outcome` as the job's outcome.json (what the
// real one does under the recovery flags, whatever the job did).
TEST_F(SubmitCli, ExitsWithTheJobsOutcomeNotMpirunsCode) {
  const fs::path run = dir_ / "fake";
  auto submit = [&](const std::string& outcome) {
    const std::string script = Write("mpirun.sh", "#!/bin/sh\nmkdir -p " + ShellQuote(run.string()) + " && printf '%s' " +
                                                      ShellQuote(outcome) + " > " +
                                                      ShellQuote((run / "outcome.json").string()) + "\nexit 0\n");
    fs::permissions(script, fs::perms::owner_all);
    return Scorch("submit configs/quickstart.yaml --oversubscribe --mpirun " + ShellQuote(script) +
                  " --set job.name=fake --set job.runs_dir=" + ShellQuote(dir_.string()));
  };
  Result finished = submit(R"({"state": "finished", "error": ""})");
  EXPECT_EQ(finished.code, 0) << finished.out;
  EXPECT_TRUE(Has(finished, "the job finished")) << finished.out;
  Result failed = submit(R"({"state": "failed", "error": "INTERNAL: the learner is gone"})");
  EXPECT_EQ(failed.code, 1) << failed.out;
  EXPECT_TRUE(Has(failed, "the job failed: INTERNAL: the learner is gone")) << failed.out;
  Result stopped = submit(R"({"state": "stopped"})");
  EXPECT_EQ(stopped.code, 130) << stopped.out;
  EXPECT_TRUE(Has(stopped, "--resume " + run.string())) << stopped.out;
  Result garbage = submit("not json");
  EXPECT_EQ(garbage.code, 1) << garbage.out;
  EXPECT_TRUE(Has(garbage, "is not a job outcome")) << garbage.out;
}

// A stale outcome.json from an earlier run never stands in for this one.
TEST_F(SubmitCli, AnEarlierOutcomeIsNotTaken) {
  fs::create_directories(dir_ / "stale");
  Write("stale/outcome.json", R"({"state": "finished"})");
  Result r = Scorch("submit configs/quickstart.yaml --oversubscribe --mpirun /bin/true --set job.name=stale "
                    "--set job.runs_dir=" + ShellQuote(dir_.string()));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(Has(r, "wrote no ")) << r.out;
}

TEST_F(SubmitCli, RolesAreValidated) {
  Result two = Scorch("submit configs/quickstart.yaml --dry-run --set cluster.roles.orchestrator=2");
  EXPECT_EQ(two.code, 1) << two.out;
  EXPECT_TRUE(Has(two, "cluster.roles.orchestrator")) << two.out;
  Result none = Scorch("submit configs/quickstart.yaml --dry-run --set cluster.roles.learner=0");
  EXPECT_EQ(none.code, 1) << none.out;
  EXPECT_TRUE(Has(none, "cluster.roles.learner")) << none.out;
  Result np = Scorch("submit configs/quickstart.yaml --dry-run --oversubscribe --extra-mpi-args='-np 9'");
  EXPECT_EQ(np.code, 2) << np.out;
  EXPECT_TRUE(Has(np, "-np 9 does not match the job: cluster.roles adds up to 3 ranks")) << np.out;
}

TEST_F(SubmitCli, MissingMpirunExits127) {
  Result r = Scorch("submit configs/quickstart.yaml --oversubscribe --mpirun /nonexistent/mpirun");
  EXPECT_EQ(r.code, 127) << r.out;
  EXPECT_TRUE(Has(r, "cannot run /nonexistent/mpirun")) << r.out;
}

TEST_F(SubmitCli, HelpTeaches) {
  Result r = Scorch("submit --help");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(Has(r, "Examples:")) << r.out;
  EXPECT_TRUE(Has(r, "cluster/MULTINODE.md")) << r.out;
  Result list = Scorch("--help");
  EXPECT_FALSE(Has(list, "submit  Print and launch the mpirun command for a job [not built yet]")) << list.out;
}

}  // namespace
}  // namespace scorch::app
