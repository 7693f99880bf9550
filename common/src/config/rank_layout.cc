// The mpirun layout as pure functions; see rank_layout.h.
#include "scorch/common/config/rank_layout.h"

#include <unistd.h>

#include <cstdlib>

namespace scorch::config {
namespace {

std::optional<int> EnvInt(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 0) return std::nullopt;
  return static_cast<int>(n);
}

}  // namespace

const char* RankRoleName(RankRole role) {
  switch (role) {
    case RankRole::kOrchestrator:
      return "orchestrator";
    case RankRole::kLearner:
      return "learner";
    case RankRole::kReward:
      return "reward";
    case RankRole::kRollout:
      return "rollout";
  }
  return "?";
}

std::optional<LauncherEnv> LauncherEnvironment() {
  // OpenMPI sets OMPI_COMM_WORLD_*; PMIx launchers (srun --mpi=pmix) PMIX_RANK; MPICH-style PMI_*.
  const std::pair<const char*, const char*> kNames[] = {
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, {"PMI_RANK", "PMI_SIZE"}, {"PMIX_RANK", "SLURM_NTASKS"}};
  for (const auto& [rank_var, size_var] : kNames) {
    auto rank = EnvInt(rank_var);
    auto size = EnvInt(size_var);
    if (!rank || !size || *size < 1 || *rank >= *size) continue;
    LauncherEnv env;
    env.world_rank = *rank;
    env.world_size = *size;
    env.local_rank = EnvInt("OMPI_COMM_WORLD_LOCAL_RANK").value_or(EnvInt("SLURM_LOCALID").value_or(0));
    return env;
  }
  return std::nullopt;
}

int GpuOfLocalRank(int local_rank, int visible_devices) {
  if (visible_devices <= 0) return -1;
  return (local_rank < 0 ? 0 : local_rank) % visible_devices;
}

StatusOr<RankPlace> PlaceOfRank(const RolesConfig& roles, int world_rank, int world_size) {
  if (world_size != roles.total()) {
    return Status::InvalidArgument(
        "mpirun started " + std::to_string(world_size) + " ranks but cluster.roles asks for " +
        std::to_string(roles.total()) + " (orchestrator " + std::to_string(roles.orchestrator) + " + learner " +
        std::to_string(roles.learner) + " + reward " + std::to_string(roles.reward) + " + rollout " +
        std::to_string(roles.rollout) + "): run mpirun -np " + std::to_string(roles.total()) +
        ", or change cluster.roles (scorch submit prints the right command)");
  }
  if (world_rank < 0 || world_rank >= world_size) {
    return Status::InvalidArgument("rank " + std::to_string(world_rank) + " is outside 0.." +
                                   std::to_string(world_size - 1));
  }
  const std::pair<RankRole, int> order[] = {{RankRole::kOrchestrator, roles.orchestrator},
                                            {RankRole::kLearner, roles.learner},
                                            {RankRole::kReward, roles.reward},
                                            {RankRole::kRollout, roles.rollout}};
  int first = 0;
  for (const auto& [role, count] : order) {
    if (world_rank < first + count) return RankPlace{role, world_rank - first};
    first += count;
  }
  return Status::Internal("rank " + std::to_string(world_rank) + " has no role");
}

StatusOr<std::string> AdvertisedEndpoint(const std::string& bound, const std::string& advertise_host) {
  const std::string scheme = "tcp://";
  const auto colon = bound.rfind(':');
  if (bound.rfind(scheme, 0) != 0 || colon == std::string::npos || colon < scheme.size()) {
    return Status::InvalidArgument("endpoint \"" + bound + "\" is not tcp://HOST:PORT");
  }
  const std::string host = bound.substr(scheme.size(), colon - scheme.size());
  const std::string port = bound.substr(colon + 1);
  std::string dial = advertise_host;
  if (dial.empty()) dial = host;
  if (dial == "0.0.0.0" || dial == "*") {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
      return Status::Unavailable("cannot read this host's name; set cluster.advertise_host");
    }
    dial = name;
  }
  return scheme + dial + ":" + port;
}

}  // namespace scorch::config
