// Atomic writes, metrics.jsonl, checkpoint folders and the run directory, including crashes
// between writing and renaming (simulated by a child process that _exits at the crash point).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "scorch/common/atomic_file.h"
#include "scorch/common/checkpoint_dir.h"
#include "scorch/common/metrics_writer.h"
#include "scorch/common/run_dir.h"
#include "scorch/common/sha256.h"
#include "scorch/common/testing/temp_dir.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

std::string Slurp(const fs::path& p) { return ReadFileToString(p).value(); }

// Runs `body` in a child that dies (without cleanup) the first time an atomic write reaches
// `point`. Returns the child's exit status.
int RunAndCrashAt(AtomicWritePoint point, const std::function<void()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    TEST_SetAtomicWriteHook([point](AtomicWritePoint p) {
      if (p == point) _exit(42);
    });
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(AtomicFileTest, WritesAndReplaces) {
  TempDir dir;
  ASSERT_TRUE(AtomicWriteFile(dir / "a.txt", "one").ok());
  EXPECT_EQ(Slurp(dir / "a.txt"), "one");
  ASSERT_TRUE(AtomicWriteFile(dir / "a.txt", "two").ok());
  EXPECT_EQ(Slurp(dir / "a.txt"), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicFileTest, CrashBetweenTempAndRenameLeavesOldFileIntact) {
  TempDir dir;
  ASSERT_TRUE(AtomicWriteFile(dir / "state.json", "old contents").ok());
  int code = RunAndCrashAt(AtomicWritePoint::kTempWritten, [&] {
    (void)AtomicWriteFile(dir / "state.json", std::string(1 << 20, 'n'));
  });
  ASSERT_EQ(code, 42) << "the child should have died at the crash point";
  EXPECT_EQ(Slurp(dir / "state.json"), "old contents");
  EXPECT_EQ(RemoveStaleTempFiles(dir.path()), 1);  // the orphaned temp file
  EXPECT_EQ(Slurp(dir / "state.json"), "old contents");
}

TEST(AtomicFileTest, MissingFolderIsAnIoError) {
  TempDir dir;
  Status s = AtomicWriteFile(dir / "no" / "such" / "x", "y");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), HasSubstr("no/such"));
  EXPECT_TRUE(ReadFileToString(dir / "absent").status().IsNotFound());
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;  // streamed in odd pieces == one shot
  std::string million(1000000, 'a');
  for (size_t i = 0; i < million.size(); i += 777) h.Update(million.substr(i, 777));
  EXPECT_EQ(h.HexFinish(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(MetricsWriterTest, AppendsOneLinePerStepAndRejectsRepeats) {
  TempDir dir;
  auto w = MetricsWriter::Open(dir / "metrics.jsonl");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Append({{"step", 0}, {"reward", 0.5}}).ok());
  ASSERT_TRUE((*w)->Append({{"step", 1}, {"reward", 0.75}}).ok());
  Status dup = (*w)->Append({{"step", 1}, {"reward", 9}});
  EXPECT_EQ(dup.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*w)->Append({{"reward", 1}}).IsInvalidArgument());
  auto records = MetricsWriter::ReadAll(dir / "metrics.jsonl");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1]["reward"], 0.75);
  EXPECT_TRUE((*records)[0].contains("time"));
}

TEST(MetricsWriterTest, ReopenDropsTornTailAndContinues) {
  TempDir dir;
  {
    auto w = MetricsWriter::Open(dir / "m.jsonl");
    ASSERT_TRUE((*w)->Append({{"step", 3}}).ok());
  }
  {
    std::ofstream out(dir / "m.jsonl", std::ios::app);
    out << "{\"step\": 4, \"rew";  // a crash mid-record
  }
  auto w = MetricsWriter::Open(dir / "m.jsonl");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_GT((*w)->dropped_tail_bytes(), 0u);
  EXPECT_EQ((*w)->last_step(), 3);
  ASSERT_TRUE((*w)->Append({{"step", 4}}).ok());
  auto records = MetricsWriter::ReadAll(dir / "m.jsonl");
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1]["step"], 4);
}

TEST(MetricsWriterTest, TruncateAfterStepForResume) {
  TempDir dir;
  auto w = MetricsWriter::Open(dir / "m.jsonl");
  for (int s = 0; s < 6; ++s) ASSERT_TRUE((*w)->Append({{"step", s}}).ok());
  ASSERT_TRUE((*w)->TruncateAfterStep(2).ok());
  EXPECT_EQ((*w)->last_step(), 2);
  ASSERT_TRUE((*w)->Append({{"step", 3}}).ok());
  auto records = MetricsWriter::ReadAll(dir / "m.jsonl");
  ASSERT_EQ(records->size(), 4u);
  for (int s = 0; s < 4; ++s) EXPECT_EQ((*records)[s]["step"], s);
}

void WriteCheckpoint(const fs::path& root, int64_t step, const std::string& payload) {
  auto tmp = BeginCheckpoint(root, step);
  ASSERT_TRUE(tmp.ok()) << tmp.status();
  fs::create_directories(*tmp / "optim");
  ASSERT_TRUE(AtomicWriteFile(*tmp / "model.bin", payload).ok());
  ASSERT_TRUE(AtomicWriteFile(*tmp / "optim" / "state.bin", payload + payload).ok());
  auto done = CommitCheckpoint(*tmp, step, {{"note", "test"}}, /*keep_last=*/2);
  ASSERT_TRUE(done.ok()) << done.status();
}

TEST(CheckpointDirTest, CommitWritesManifestAndLatest) {
  TempDir dir;
  WriteCheckpoint(dir.path(), 10, "weights-10");
  auto latest = LatestCheckpoint(dir.path());
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->filename(), "step-000010");
  EXPECT_TRUE(VerifyCheckpoint(*latest).ok());
  auto m = ReadManifest(*latest);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->step, 10);
  ASSERT_EQ(m->files.size(), 2u);
  EXPECT_EQ(m->files[0].path, "model.bin");
  EXPECT_EQ(m->files[1].path, "optim/state.bin");
  EXPECT_EQ(m->extra["note"], "test");
}

TEST(CheckpointDirTest, VerifyNamesTheCorruptFile) {
  TempDir dir;
  WriteCheckpoint(dir.path(), 1, "abc");
  fs::path ckpt = *LatestCheckpoint(dir.path());
  { std::ofstream(ckpt / "model.bin", std::ios::trunc) << "abd"; }
  Status s = VerifyCheckpoint(ckpt);
  EXPECT_TRUE(s.IsDataLoss());
  EXPECT_THAT(s.message(), HasSubstr("model.bin does not match its checksum"));
  { std::ofstream(ckpt / "model.bin", std::ios::trunc) << "abc"; }
  EXPECT_TRUE(VerifyCheckpoint(ckpt).ok());
  fs::remove(ckpt / "optim" / "state.bin");
  EXPECT_THAT(VerifyCheckpoint(ckpt).message(), HasSubstr("missing"));
}

TEST(CheckpointDirTest, RotationKeepsNewest) {
  TempDir dir;
  for (int s = 1; s <= 4; ++s) WriteCheckpoint(dir.path(), s, "w" + std::to_string(s));
  auto all = ListCheckpoints(dir.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].filename(), "step-000003");
  EXPECT_EQ(all[1].filename(), "step-000004");
}

TEST(CheckpointDirTest, CrashMidCheckpointKeepsPreviousLatest) {
  TempDir dir;
  WriteCheckpoint(dir.path(), 5, "good");
  // Die while writing the new checkpoint's files, and (separately) just before `latest` is
  // renamed into place: both leave `latest` at step 5, loadable and verified.
  for (int crash_on_write : {1, 4}) {
    int code = RunAndCrashAt(AtomicWritePoint::kTempWritten, [&, crash_on_write] {
      int writes = 0;
      TEST_SetAtomicWriteHook([&writes, crash_on_write](AtomicWritePoint p) {
        if (p == AtomicWritePoint::kTempWritten && ++writes == crash_on_write) _exit(42);
      });
      auto tmp = BeginCheckpoint(dir.path(), 6);
      (void)AtomicWriteFile(*tmp / "model.bin", "new");
      (void)AtomicWriteFile(*tmp / "optim.bin", "new");
      (void)CommitCheckpoint(*tmp, 6);  // manifest write is #3, latest is #4
    });
    ASSERT_EQ(code, 42);
    auto latest = LatestCheckpoint(dir.path());
    ASSERT_TRUE(latest.ok()) << latest.status();
    EXPECT_EQ(latest->filename(), "step-000005");
    EXPECT_TRUE(VerifyCheckpoint(*latest).ok());
  }
  // The second crash came after step 6's folder was sealed and renamed but before `latest`
  // moved: the folder is complete, yet `latest` (what resume reads) still names step 5.
  EXPECT_TRUE(VerifyCheckpoint(dir / "step-000006").ok());
  // The next successful commit cleans up leftovers.
  WriteCheckpoint(dir.path(), 7, "seven");
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST(CheckpointDirTest, MalformedManifestIsDataLoss) {
  TempDir dir;
  fs::create_directories(dir / "step-000001");
  ASSERT_TRUE(AtomicWriteFile(dir / "step-000001" / "MANIFEST.json", "{\"step\": 1").ok());
  EXPECT_TRUE(ReadManifest(dir / "step-000001").status().IsDataLoss());
  ASSERT_TRUE(AtomicWriteFile(dir / "step-000001" / "MANIFEST.json",
                              R"({"step":1,"files":[{"path":"../x","size":1,"sha256":"0"}]})")
                  .ok());
  EXPECT_THAT(ReadManifest(dir / "step-000001").status().message(), HasSubstr("escapes"));
  ASSERT_TRUE(AtomicWriteFile(dir / "latest", "../../etc\n").ok());
  EXPECT_TRUE(LatestCheckpoint(dir.path()).status().IsDataLoss());
}

TEST(RunDirectoryTest, CreateRefusesToOverwriteResults) {
  TempDir dir;
  fs::path root = dir / "job";
  auto run = RunDirectory::Open(root, RunDirectory::Mode::kCreate);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(fs::is_directory(run->logs_dir()));
  EXPECT_TRUE(fs::is_directory(run->checkpoints_dir()));
  ASSERT_TRUE(run->WriteResolvedConfig("job: {name: x}\n", {"scorch", "run"}).ok());
  EXPECT_EQ(Slurp(run->config_path()), "job: {name: x}\n");
  EXPECT_THAT(Slurp(root / "RUN_INFO.json"), HasSubstr("git_hash"));
  // Creating again before any results is fine; after a metric it is refused.
  ASSERT_TRUE(RunDirectory::Open(root, RunDirectory::Mode::kCreate).ok());
  { auto w = MetricsWriter::Open(run->metrics_path()); ASSERT_TRUE((*w)->Append({{"step", 0}}).ok()); }
  auto again = RunDirectory::Open(root, RunDirectory::Mode::kCreate);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("--resume"));
  EXPECT_TRUE(RunDirectory::Open(root, RunDirectory::Mode::kResume).ok());
  EXPECT_TRUE(RunDirectory::Open(dir / "nope", RunDirectory::Mode::kResume).status().IsNotFound());
}

}  // namespace
}  // namespace scorch
