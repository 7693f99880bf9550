// The pure half of `scorch submit`: OpenMPI hostfiles, where mpirun's default by-slot mapping
// puts each rank, and the mpirun argv that launches a job's cluster.roles layout
// (`mpirun -np N ... scorch run job.yaml`). Nothing here touches the process, the environment
// or the file system except LoadHostfile, so submit_test drives it directly; submit.cc does
// the rest (config loading, printing, execvp).
//
// All functions are thread-compatible (no shared state) and never block.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scorch/common/config/rank_layout.h"
#include "scorch/common/config/run_config.h"
#include "scorch/common/status.h"

namespace scorch::app {

// One line of an OpenMPI hostfile: `host [slots=N] [max_slots=M]`. A host named on several
// lines is merged into one entry (mpirun sums its slots).
struct HostfileEntry {
  std::string host;   // as written (name or address; user@ prefixes are kept)
  int slots = 0;      // 0 = not given: mpirun then uses the host's processor-core count
  int max_slots = 0;  // 0 = no hard limit
  int line = 0;       // 1-based line of the host's first appearance
};

// Parses hostfile text. Accepts OpenMPI's syntax: one host per line, then key=value pairs
// (slots, count or cpu; max_slots, max-slots, slots_max or slots-max), `#` comments to the
// end of the line, blank lines. Errors are InvalidArgument naming "NAME:LINE: problem".
StatusOr<std::vector<HostfileEntry>> ParseHostfile(std::string_view text, const std::string& name);
// Reads `path` and parses it (IoError naming the path when it cannot be read).
StatusOr<std::vector<HostfileEntry>> LoadHostfile(const std::string& path);

// Total slots of `hosts`; -1 when any host leaves slots unset (only mpirun knows then).
int TotalSlots(const std::vector<HostfileEntry>& hosts);

// Every rank's role in the cluster.roles order (config::PlaceOfRank, the rule `scorch run`
// itself follows under mpirun): orchestrator (rank 0), learners, reward services, rollout
// workers.
std::vector<config::RankPlace> AssignRoles(const config::RolesConfig& roles);

// The host each rank lands on under mpirun's default mapping (--map-by slot): hosts are filled
// in hostfile order up to their slots; ranks beyond the total (--oversubscribe) are spread
// evenly over the hosts that are below max_slots, the first hosts taking one more; ranks are
// numbered host by host. Empty when any host leaves slots unset, or when `np` ranks do not fit
// even oversubscribed (max_slots everywhere).
std::vector<std::string> MapRanksBySlot(const std::vector<HostfileEntry>& hosts, int np);

// Everything the mpirun command line depends on.
struct MpirunOptions {
  std::string mpirun = "mpirun";        // program to run (PATH lookup unless it has a slash)
  std::string scorch_binary;            // absolute path of the scorch binary every rank runs
  std::string job_path;                 // absolute path of the job yaml ("" with resume_dir)
  std::string resume_dir;               // absolute run folder: `scorch run --resume DIR`
  std::vector<std::string> overrides;   // KEY=VALUE, passed as `--set KEY=VALUE`
  std::string hostfile;                 // absolute path; "" = mpirun's default (this host)
  bool oversubscribe = false;           // --oversubscribe: more ranks than slots
  bool as_root = false;                 // --allow-run-as-root (OpenMPI refuses root without it)
  bool forward_token = false;           // -x SCORCH_TOKEN (the variable is set here)
  std::vector<std::string> extra_args;  // more mpirun options, placed before the program
};

// `mpirun -np N --enable-recovery --mca orte_abort_on_non_zero_status 0 [--hostfile F]
// [--oversubscribe] [--allow-run-as-root] --bind-to none [-x SCORCH_TOKEN] [extra...]
// SCORCH run JOB [--set K=V ...]`. The recovery flags keep the job alive when a rollout rank
// dies (the orchestrator re-queues its leases); --bind-to none lets each rank's threads use
// every core. N is roles.total().
std::vector<std::string> BuildMpirunArgv(const config::RolesConfig& roles, const MpirunOptions& options);

// One word for a POSIX shell: unchanged when it is made only of safe characters, otherwise
// single-quoted (a ' becomes '\'').
std::string ShellQuote(std::string_view word);
// The argv as one copy-pasteable shell line.
std::string ShellJoin(const std::vector<std::string>& argv);
// Splits `text` into words the way a shell would for plain words: whitespace separates,
// '...' and "..." group, a backslash escapes the next character (outside '...'). Used for
// --extra-mpi-args. InvalidArgument on an unterminated quote.
StatusOr<std::vector<std::string>> SplitShellWords(std::string_view text);

// Rejects extra mpirun options that would contradict the layout: a rank count (-np, -n, -c,
// --np, --n) other than cluster.roles' total `np` (InvalidArgument naming both numbers), and
// any rank count at all, since BuildMpirunArgv already passes -np.
Status CheckExtraMpiArgs(const std::vector<std::string>& extra_args, int np);

// The layout table: one row per run of consecutive ranks with the same role (and host), e.g.
//   rank   role           host
//   0      orchestrator   node1
//   2-5    rollout 0-3    node2
// `hosts` is MapRanksBySlot's answer (empty: no host column).
std::string FormatLayout(const config::RolesConfig& roles, const std::vector<std::string>& hosts);

}  // namespace scorch::app
