// The mpirun layout, as pure functions (no MPI calls), so it is testable on its own:
//   * whether this process was started by mpirun, and its world rank and size, from the
//     launcher's environment (OpenMPI's OMPI_COMM_WORLD_*, else PMIx / PMI) — read BEFORE
//     MPI_Init, because a role that forks (the grader pool) must fork before MPI starts threads;
//   * which role a world rank takes under `cluster.roles` (rank 0 orchestrator, then the
//     learners, the reward services, and the rollout workers last);
//   * the endpoint other hosts dial for a socket bound at `bind_host`.
//
// Thread-safety: pure functions. Errors: InvalidArgument naming the mismatch.
#pragma once

#include <optional>
#include <string>

#include "scorch/common/config/run_config.h"
#include "scorch/common/status.h"

namespace scorch::config {

enum class RankRole { kOrchestrator = 0, kLearner = 1, kReward = 2, kRollout = 3 };
inline constexpr int kNumRankRoles = 4;

const char* RankRoleName(RankRole role);

struct LauncherEnv {
  int world_rank = 0;
  int world_size = 1;
  int local_rank = 0;  // rank on this host (GPU placement)
};

// The launcher's view of this process; nullopt when not started by mpirun (or a PMI launcher).
std::optional<LauncherEnv> LauncherEnvironment();

struct RankPlace {
  RankRole role = RankRole::kOrchestrator;
  int role_rank = 0;  // index among the ranks of that role
};

// The role of `world_rank` under `roles`; InvalidArgument when world_size differs from the
// total the config asks for (the message gives both and the mpirun line that fits).
StatusOr<RankPlace> PlaceOfRank(const RolesConfig& roles, int world_rank, int world_size);

// GPU placement: the CUDA device a rank uses, local_rank % visible_devices (ranks on a host
// share its GPUs round-robin in local-rank order; with CUDA_VISIBLE_DEVICES the indices are
// within the visible list). -1 when no device is visible (the rank computes on the CPU).
int GpuOfLocalRank(int local_rank, int visible_devices);

// tcp://HOST:PORT for a socket bound at `bound` (tcp://BIND:PORT): HOST is advertise_host when
// set, else BIND, else (BIND is 0.0.0.0 or *) this host's name.
StatusOr<std::string> AdvertisedEndpoint(const std::string& bound, const std::string& advertise_host);

}  // namespace scorch::config
