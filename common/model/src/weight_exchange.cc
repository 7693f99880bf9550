// Weight exchange over the shared registry and over files; see weight_exchange.h.
#include "scorch/model/weight_exchange.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "scorch/common/atomic_file.h"
#include "scorch/common/sha256.h"
#include "scorch/model/safetensors.h"

namespace scorch::model {
namespace {

namespace fs = std::filesystem;
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

constexpr char kSharedScheme[] = "shared://";

struct SharedSnapshot {
  int64_t version = 0;
  std::shared_ptr<const NamedTensors> tensors;
};

// Process-wide registry of shared snapshots: channel -> newest-last versions.
class SharedRegistry {
 public:
  static SharedRegistry& Get() {
    static SharedRegistry* registry = new SharedRegistry();  // never destroyed: used at exit
    return *registry;
  }
  void Put(const std::string& channel, int64_t version, std::shared_ptr<const NamedTensors> tensors, int keep) {
    std::lock_guard lock(mu_);
    auto& versions = channels_[channel];
    std::erase_if(versions, [&](const SharedSnapshot& s) { return s.version == version; });
    versions.push_back({version, std::move(tensors)});
    while (static_cast<int>(versions.size()) > keep) versions.pop_front();
  }
  std::shared_ptr<const NamedTensors> Find(const std::string& channel, int64_t version) {
    std::lock_guard lock(mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return nullptr;
    for (const auto& s : it->second) {
      if (s.version == version) return s.tensors;
    }
    return nullptr;
  }
  void Clear(const std::string& channel) {
    std::lock_guard lock(mu_);
    channels_.erase(channel);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::deque<SharedSnapshot>> channels_;
};

std::string SharedLocation(const std::string& channel, int64_t version) {
  return std::string(kSharedScheme) + channel + "/v" + std::to_string(version);
}

// "shared://<channel>/v<version>" -> channel (InvalidArgument otherwise).
StatusOr<std::string> SharedChannel(const proto::WeightsAnnounce& announce) {
  const std::string& loc = announce.location;
  const std::string suffix = "/v" + std::to_string(announce.version);
  if (loc.rfind(kSharedScheme, 0) != 0 || loc.size() <= sizeof(kSharedScheme) - 1 + suffix.size() ||
      loc.compare(loc.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return Status::InvalidArgument("WeightsAnnounce.location '" + loc + "' is not shared://<channel>/v" +
                                   std::to_string(announce.version));
  }
  return loc.substr(sizeof(kSharedScheme) - 1, loc.size() - (sizeof(kSharedScheme) - 1) - suffix.size());
}

// Checks every name and shape, then copies: the module is untouched unless all match.
Status CopyInto(const NamedTensors& source, torch::nn::Module& module, const std::string& where) {
  auto params = module.named_parameters(/*recurse=*/true);
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& [name, tensor] : source) by_name[name] = &tensor;
  for (const auto& item : params) {
    auto it = by_name.find(item.key());
    if (it == by_name.end()) return Status::InvalidArgument(where + ": no tensor for parameter '" + item.key() + "'");
    if (it->second->sizes() != item.value().sizes()) {
      return Status::InvalidArgument(where + ": tensor '" + item.key() + "' has shape " +
                                     c10::str(it->second->sizes()) + ", the model expects " +
                                     c10::str(item.value().sizes()));
    }
  }
  if (by_name.size() != params.size()) {
    return Status::InvalidArgument(where + ": " + std::to_string(by_name.size()) + " tensors for " +
                                   std::to_string(params.size()) + " parameters");
  }
  torch::NoGradGuard no_grad;
  for (auto& item : params) item.value().copy_(*by_name[item.key()]);
  return Status::Ok();
}

StatusOr<proto::WeightsAnnounce> PublishShared(torch::nn::Module& module, int64_t version,
                                               const WeightPublishOptions& options) {
  auto snapshot = std::make_shared<NamedTensors>();
  uint64_t bytes = 0;
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) {
      torch::Tensor copy = item.value().detach().clone();
      bytes += static_cast<uint64_t>(copy.numel() * copy.element_size());
      snapshot->emplace_back(item.key(), std::move(copy));
    }
  }
  SharedRegistry::Get().Put(options.channel, version, std::move(snapshot), options.keep);
  proto::WeightsAnnounce announce;
  announce.version = version;
  announce.transport = proto::WeightsTransport::kShared;
  announce.location = SharedLocation(options.channel, version);
  announce.size_bytes = bytes;
  return announce;
}

StatusOr<proto::WeightsAnnounce> PublishFile(torch::nn::Module& module, int64_t version,
                                             const WeightPublishOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("WeightPublishOptions.dir is empty (file transport)");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return Status::IoError("cannot create weights folder " + options.dir + ": " + ec.message());
  NamedTensors tensors;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    tensors.emplace_back(item.key(), item.value().detach());
  }
  const fs::path path = fs::path(options.dir) / ("v" + std::to_string(version) + ".safetensors");
  SCORCH_RETURN_IF_ERROR(WriteSafetensors(path.string(), tensors, {{"version", std::to_string(version)}}));
  SCORCH_RETURN_IF_ERROR(FsyncPath(path));
  SCORCH_ASSIGN_OR_RETURN(std::string digest, Sha256File(path));
  proto::WeightsAnnounce announce;
  announce.version = version;
  announce.transport = proto::WeightsTransport::kFile;
  announce.location = path.string();
  announce.size_bytes = fs::file_size(path, ec);
  announce.checksum = "sha256:" + digest;
  // Rotate: keep the newest `keep` versions.
  std::vector<std::pair<int64_t, fs::path>> versions;
  for (const auto& entry : fs::directory_iterator(options.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 13 && name[0] == 'v' && name.ends_with(".safetensors")) {
      try {
        versions.emplace_back(std::stoll(name.substr(1, name.size() - 13)), entry.path());
      } catch (const std::exception&) {
      }
    }
  }
  std::sort(versions.begin(), versions.end());
  for (size_t i = 0; i + static_cast<size_t>(options.keep) < versions.size(); ++i) fs::remove(versions[i].second, ec);
  return announce;
}

Status ApplyFile(const proto::WeightsAnnounce& announce, torch::nn::Module& module) {
  const std::string where = "weights v" + std::to_string(announce.version) + " (" + announce.location + ")";
  std::error_code ec;
  const auto size = fs::file_size(announce.location, ec);
  if (ec) return Status::NotFound(where + ": " + ec.message());
  if (announce.size_bytes != 0 && size != announce.size_bytes) {
    return Status::DataLoss(where + ": " + std::to_string(size) + " bytes, announced " +
                            std::to_string(announce.size_bytes));
  }
  if (!announce.checksum.empty()) {
    if (announce.checksum.rfind("sha256:", 0) != 0) {
      return Status::InvalidArgument(where + ": unsupported checksum '" + announce.checksum + "'");
    }
    SCORCH_ASSIGN_OR_RETURN(std::string digest, Sha256File(announce.location));
    if ("sha256:" + digest != announce.checksum) {
      return Status::DataLoss(where + ": checksum sha256:" + digest + " does not match the announced " +
                              announce.checksum);
    }
  }
  SCORCH_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(announce.location));
  NamedTensors tensors;
  for (const auto& entry : file->header().entries) {
    SCORCH_ASSIGN_OR_RETURN(torch::Tensor view, file->View(entry.name));
    tensors.emplace_back(entry.name, view);
  }
  return CopyInto(tensors, module, where);
}

}  // namespace

StatusOr<proto::WeightsAnnounce> PublishWeights(torch::nn::Module& module, int64_t version,
                                                const WeightPublishOptions& options) {
  if (options.keep < 1) return Status::InvalidArgument("WeightPublishOptions.keep must be >= 1");
  switch (options.transport) {
    case proto::WeightsTransport::kShared:
      return PublishShared(module, version, options);
    case proto::WeightsTransport::kFile:
      return PublishFile(module, version, options);
    default:
      return Status::InvalidArgument("PublishWeights: transport '" +
                                     std::string(proto::WeightsTransportName(options.transport)) +
                                     "' is not handled here (use shared or file)");
  }
}

Status ApplyWeights(const proto::WeightsAnnounce& announce, torch::nn::Module& module) {
  switch (announce.transport) {
    case proto::WeightsTransport::kShared: {
      SCORCH_ASSIGN_OR_RETURN(std::string channel, SharedChannel(announce));
      auto tensors = SharedRegistry::Get().Find(channel, announce.version);
      if (!tensors) {
        return Status::NotFound("weights v" + std::to_string(announce.version) + " are no longer in " +
                                announce.location + " (superseded; only the newest versions are kept)");
      }
      return CopyInto(*tensors, module, announce.location);
    }
    case proto::WeightsTransport::kFile:
      return ApplyFile(announce, module);
    default:
      return Status::InvalidArgument("ApplyWeights: transport '" +
                                     std::string(proto::WeightsTransportName(announce.transport)) +
                                     "' is not handled here (shared or file)");
  }
}

void ClearSharedWeights(const std::string& channel) { SharedRegistry::Get().Clear(channel); }

}  // namespace scorch::model
