// Which MPI communicator the learner's "mpi" and "nccl" Communicator backends are built on.
//
// Under mpirun the MPI world also holds the orchestrator, reward and rollout ranks, so the
// learners must not run their collectives on MPI_COMM_WORLD. The launcher splits the world
// (MPI_Comm_split by role) and hands the learners' part here BEFORE the first
// CreateCommunicator({"mpi"|"nccl"}): every communicator created afterwards is a private
// MPI_Comm_dup of that communicator, so its rank()/size() are the rank within the learner
// group, and NCCL's unique-id bootstrap runs over it too. Unset = MPI_COMM_WORLD (tests,
// learner-only jobs).
//
//   MPI_Init_thread(..., MPI_THREAD_FUNNELED, ...);      // the launcher owns MPI
//   MPI_Comm learners;
//   MPI_Comm_split(MPI_COMM_WORLD, is_learner ? 0 : MPI_UNDEFINED, world_rank, &learners);
//   if (is_learner) learner::SetCommunicatorWorld(learners);
//   auto comm = learner::CreateCommunicator({.backend = "mpi"});  // rank within `learners`
//
// Ownership: the caller keeps `world` (it may MPI_Comm_free it once the communicators are
// created: they hold their own duplicates) and keeps MPI: a communicator finalises MPI only
// if it initialised it itself, which cannot be the case here since MPI_Comm_split needs MPI.
// Thread-safety: call from the thread that creates the communicators (MPI is FUNNELED).
// Errors: none here; a handle the caller freed before CreateCommunicator is undefined behaviour
// in MPI (the dup usually aborts).
// Compiled only with SCORCH_HAVE_MPI.
#pragma once

#ifdef SCORCH_HAVE_MPI

// The C API only: OpenMPI's deprecated C++ bindings need libmpi_cxx, which we do not link.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

namespace scorch::learner {

// Communicators created from now on duplicate `world` instead of MPI_COMM_WORLD.
// MPI_COMM_NULL restores the default (MPI_COMM_WORLD).
void SetCommunicatorWorld(MPI_Comm world);

// The communicator new mpi/nccl communicators duplicate (MPI_COMM_WORLD unless set).
MPI_Comm CommunicatorWorld();

}  // namespace scorch::learner

#endif  // SCORCH_HAVE_MPI
