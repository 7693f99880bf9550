#include "scorch/common/checkpoint_dir.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "scorch/common/atomic_file.h"
#include "scorch/common/logging.h"
#include "scorch/common/sha256.h"

namespace scorch {
namespace fs = std::filesystem;

std::string CheckpointName(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "step-%06lld", static_cast<long long>(step));
  return buf;
}

StatusOr<fs::path> BeginCheckpoint(const fs::path& checkpoints_dir, int64_t step) {
  std::error_code ec;
  fs::create_directories(checkpoints_dir, ec);
  if (ec) return Status::IoError("cannot create " + checkpoints_dir.string() + ": " + ec.message());
  fs::path tmp = checkpoints_dir / (CheckpointName(step) + ".tmp-" + std::to_string(getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::IoError("cannot create " + tmp.string() + ": " + ec.message());
  return tmp;
}

namespace {

nlohmann::json ManifestToJson(const Manifest& m) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : m.files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  return {{"format", "scorch-checkpoint-1"}, {"step", m.step}, {"files", files}, {"extra", m.extra}};
}

// Lists regular files under `dir` (recursively), relative, sorted.
std::vector<std::string> FilesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

StatusOr<fs::path> CommitCheckpoint(const fs::path& temp_dir, int64_t step, nlohmann::json extra,
                                    int keep_last) {
  if (!fs::is_directory(temp_dir)) {
    return Status::NotFound("checkpoint folder " + temp_dir.string() + " does not exist");
  }
  Manifest m;
  m.step = step;
  m.extra = std::move(extra);
  for (const auto& rel : FilesUnder(temp_dir)) {
    if (rel == kManifestFile) continue;
    fs::path p = temp_dir / rel;
    SCORCH_ASSIGN_OR_RETURN(std::string digest, Sha256File(p));
    SCORCH_RETURN_IF_ERROR(FsyncPath(p));
    m.files.push_back({rel, static_cast<uint64_t>(fs::file_size(p)), digest});
  }
  SCORCH_RETURN_IF_ERROR(AtomicWriteFile(temp_dir / kManifestFile, ManifestToJson(m).dump(2)));
  for (const auto& e : fs::recursive_directory_iterator(temp_dir)) {
    if (e.is_directory()) SCORCH_RETURN_IF_ERROR(FsyncPath(e.path()));
  }
  SCORCH_RETURN_IF_ERROR(FsyncPath(temp_dir));

  const fs::path parent = temp_dir.parent_path();
  const fs::path final_dir = parent / CheckpointName(step);
  std::error_code ec;
  if (fs::exists(final_dir)) {
    // A checkpoint of the same step from an earlier attempt: replace it, but never the one
    // `latest` names until the new one is in place.
    fs::path old = parent / (CheckpointName(step) + ".old-" + std::to_string(getpid()));
    fs::rename(final_dir, old, ec);
    if (ec) return Status::IoError("cannot move aside " + final_dir.string() + ": " + ec.message());
    fs::rename(temp_dir, final_dir, ec);
    if (ec) return Status::IoError("cannot rename " + temp_dir.string() + ": " + ec.message());
    fs::remove_all(old, ec);
  } else {
    fs::rename(temp_dir, final_dir, ec);
    if (ec) return Status::IoError("cannot rename " + temp_dir.string() + ": " + ec.message());
  }
  SCORCH_RETURN_IF_ERROR(FsyncPath(parent));
  SCORCH_RETURN_IF_ERROR(AtomicWriteFile(parent / kLatestFile, CheckpointName(step) + "\n"));

  if (keep_last > 0) {
    auto all = ListCheckpoints(parent);
    const std::string latest_name = CheckpointName(step);
    for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) {
      if (all[i].filename() == latest_name) continue;
      fs::remove_all(all[i], ec);
      if (ec) SCORCH_LOG(WARNING) << "cannot rotate out " << all[i].string() << ": " << ec.message();
    }
  }
  // Leftovers from interrupted writers are garbage once a newer checkpoint is complete.
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && (name.find(".tmp-") != std::string::npos ||
                             name.find(".old-") != std::string::npos)) {
      fs::remove_all(e.path(), ec);
    }
  }
  return final_dir;
}

StatusOr<Manifest> ReadManifest(const fs::path& checkpoint_dir) {
  SCORCH_ASSIGN_OR_RETURN(std::string text, ReadFileToString(checkpoint_dir / kManifestFile));
  auto j = nlohmann::json::parse(text, nullptr, false);
  const std::string where = (checkpoint_dir / kManifestFile).string();
  if (j.is_discarded() || !j.is_object()) return Status::DataLoss(where + ": not valid JSON");
  if (!j.contains("files") || !j["files"].is_array() || !j.contains("step") ||
      !j["step"].is_number_integer()) {
    return Status::DataLoss(where + ": missing \"files\" list or integer \"step\"");
  }
  Manifest m;
  m.step = j["step"].get<int64_t>();
  m.extra = j.value("extra", nlohmann::json::object());
  for (const auto& f : j["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("size") ||
        !f["size"].is_number_unsigned() || !f.contains("sha256") || !f["sha256"].is_string()) {
      return Status::DataLoss(where + ": malformed file entry " + f.dump());
    }
    std::string rel = f["path"].get<std::string>();
    if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos) {
      return Status::DataLoss(where + ": file path \"" + rel + "\" escapes the checkpoint");
    }
    m.files.push_back({rel, f["size"].get<uint64_t>(), f["sha256"].get<std::string>()});
  }
  return m;
}

Status VerifyCheckpoint(const fs::path& checkpoint_dir) {
  SCORCH_ASSIGN_OR_RETURN(Manifest m, ReadManifest(checkpoint_dir));
  for (const auto& f : m.files) {
    fs::path p = checkpoint_dir / f.path;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return Status::DataLoss(p.string() + " is missing");
    if (fs::file_size(p, ec) != f.size) {
      return Status::DataLoss(p.string() + " has " + std::to_string(fs::file_size(p, ec)) +
                              " bytes; the manifest says " + std::to_string(f.size));
    }
    SCORCH_ASSIGN_OR_RETURN(std::string digest, Sha256File(p));
    if (digest != f.sha256) return Status::DataLoss(p.string() + " does not match its checksum");
  }
  return Status::Ok();
}

std::vector<fs::path> ListCheckpoints(const fs::path& checkpoints_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoints_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos &&
        fs::exists(e.path() / kManifestFile)) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<fs::path> LatestCheckpoint(const fs::path& checkpoints_dir) {
  auto text = ReadFileToString(checkpoints_dir / kLatestFile);
  if (!text.ok()) return Status::NotFound("no complete checkpoint in " + checkpoints_dir.string());
  std::string name = *text;
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos) {
    return Status::DataLoss(checkpoints_dir.string() + "/latest names \"" + name +
                            "\", not a checkpoint folder");
  }
  fs::path dir = checkpoints_dir / name;
  if (!fs::exists(dir / kManifestFile)) {
    return Status::DataLoss(checkpoints_dir.string() + "/latest names " + name +
                            ", which has no manifest");
  }
  return dir;
}

}  // namespace scorch
