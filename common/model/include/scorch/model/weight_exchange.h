// Weight exchange: how a learner hands a new policy version to rollout workers
// (ARCHITECTURE §2, "Weights"). The learner calls PublishWeights after an optimizer step and
// sends the returned proto::WeightsAnnounce over the control plane; a worker that receives it
// calls ApplyWeights on its replica (only while no sequence is in flight, see rollout_worker.h).
//
// Transports:
//   shared  Same process (embedded mode). The parameters are cloned into a process-wide
//           registry under "shared://<channel>/v<version>"; ApplyWeights copies them into the
//           replica. No disk, no serialisation. The registry keeps the `keep` newest versions
//           per channel, so a slow worker can still fetch the version it was told about.
//   file    Any process on a host that sees the same file system. The parameters are written
//           to <dir>/v<version>.safetensors atomically (temp file, fsync, rename); the
//           announcement carries the size and "sha256:<hex>" checksum, which ApplyWeights
//           verifies before touching the replica. Older files beyond `keep` are deleted.
// NCCL broadcast (both sides on GPUs) is the learner's communicator's job, not this file's.
//
// Names and shapes are the module's named_parameters(); ApplyWeights checks every name and
// shape before it changes any parameter, so a mismatched announcement leaves the replica as
// it was. Dtype/device are converted to the replica's.
//
// Thread-safety: PublishWeights and ApplyWeights may run on different threads at once (the
// registry is locked; files are immutable once renamed). Do not apply into a module another
// thread is using. Errors: InvalidArgument (unknown transport, bad location, shape or name
// mismatch), NotFound (version no longer kept), DataLoss (checksum or size mismatch), IoError.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "scorch/common/proto/control_messages.h"
#include "scorch/common/status.h"

namespace scorch::model {

struct WeightPublishOptions {
  proto::WeightsTransport transport = proto::WeightsTransport::kShared;
  std::string channel = "policy";  // shared: registry channel (one per job in a process)
  std::string dir;                 // file: folder for v<version>.safetensors
  int keep = 2;                    // versions kept per channel / folder (>= 1)
};

// Snapshots `module`'s parameters as `version` and returns the announcement to send.
StatusOr<proto::WeightsAnnounce> PublishWeights(torch::nn::Module& module, int64_t version,
                                                const WeightPublishOptions& options);

// Copies the announced weights into `module` (see the file comment for the checks).
Status ApplyWeights(const proto::WeightsAnnounce& announce, torch::nn::Module& module);

// Drops every shared snapshot of `channel` (end of a job; tests).
void ClearSharedWeights(const std::string& channel);

}  // namespace scorch::model
