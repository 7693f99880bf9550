// RunMpiJob: a job under mpirun, one role per rank (ARCHITECTURE §3, mode 2).
//
//   mpirun -np N scorch run job.yaml               (SPMD: roles from cluster.roles)
//   mpirun -np 1 scorch orchestrator job.yaml : -np 2 scorch learner job.yaml
//          : -np 4 scorch rollout --config job.yaml  (MPMD, one line: roles from the subcommands)
//
// Start-up, on every rank:
//   1. the job config (or runs/NAME/config.yaml with --resume) and this rank's role, from the
//      launcher's environment before MPI starts (mpi_layout.h); the orchestrator and reward
//      ranks fork their grader pools now, before MPI_Init creates threads;
//   2. MPI_Init_thread(FUNNELED); an all-gather of every rank's role and readiness: any rank
//      that failed to start makes every rank stop with that rank's message (no rank waits
//      forever for a peer that will never come);
//   3. the orchestrator opens the run directory, picks the job token (cluster.token,
//      $SCORCH_TOKEN, or new; written to runs/NAME/join.token, 0600) and binds the control plane
//      at tcp://cluster.bind_host:cluster.control_port; reward ranks bind their ZeroMQ grade
//      service; a second all-gather hands every rank the endpoints and the token — nobody types
//      an address;
//   4. learners split off their own communicator (MPI_Comm_split) for gradient all-reduce.
// Then each rank runs its role: the orchestrator the job loop (grading through the reward
// ranks, or in process when there are none); learner rank 0 the learner service (the other
// learner ranks follow it over their communicator); reward ranks serve until the orchestrator
// says the job is over; rollout ranks a rollout worker. Weights reach rollout ranks as files
// under runs/NAME/weights (a file system every host sees).
//
// Faults: after start-up no rank but the learners makes an MPI call, so a rollout rank that
// dies costs only its leases, which the orchestrator re-queues — provided mpirun lets the job
// go on (OpenMPI 4: `--enable-recovery --mca orte_abort_on_non_zero_status 0`; scorch submit
// adds them). Every rank other than the orchestrator watches the control plane's port and
// ends (exit 3, logged) when it has been unreachable for about 10 s, so a dead orchestrator
// never leaves ranks waiting forever.
//
// Ownership: everything lives inside the call. Thread-safety: call once, from main (MPI is
// initialised FUNNELED: only this thread calls MPI). Errors: a Status naming the rank, role
// and what failed; Unimplemented in a build without MPI.
#pragma once

#include <optional>

#include "embedded_job.h"
#include "scorch/common/config/rank_layout.h"
#include "scorch/common/status.h"

namespace scorch::app {

using config::AdvertisedEndpoint;
using config::kNumRankRoles;
using config::LauncherEnvironment;
using config::PlaceOfRank;
using config::RankPlace;
using config::RankRole;
using config::RankRoleName;

struct MpiJobOptions {
  EmbeddedJobOptions job;         // config, --set overrides, --resume, argv
  std::optional<RankRole> role;   // MPMD: this rank's role (nullopt: from cluster.roles)
};

Status RunMpiJob(const MpiJobOptions& options);

}  // namespace scorch::app
