// RunConfig: the typed form of a job YAML file (configs/*.yaml), loaded once at start-up.
//
// Each section is a struct whose fields have defaults and a trailing comment with the unit;
// VisitFields (see schema.h) lists them for reading, checking and writing. Objects receive
// the section they need as `const XConfig&`; nothing reads a global config. Later components
// add their sections here (they meet in this file because every role reads one job file).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "scorch/common/config/schema.h"
#include "scorch/common/status.h"

namespace scorch::config {

enum class StageKind { kSft, kCollect, kGrpo, kPpo, kMdpo, kEval, kBon, kSwiftTrain };

template <>
struct EnumNames<StageKind> {
  static constexpr std::pair<StageKind, const char*> kValues[] = {
      {StageKind::kSft, "sft"},   {StageKind::kCollect, "collect"}, {StageKind::kGrpo, "grpo"},
      {StageKind::kPpo, "ppo"},   {StageKind::kMdpo, "mdpo"},       {StageKind::kEval, "eval"},
      {StageKind::kBon, "bon"},   {StageKind::kSwiftTrain, "swift_train"}};
};

struct JobConfig {
  std::string name = "job";        // run directory name: <runs_dir>/<name>
  std::string runs_dir = "runs";   // parent folder of run directories
  int64_t seed = 1234;             // master seed; every RNG in the job derives from it
  int threads = 0;                 // LibTorch intra-op threads per process (0 = all CPUs)
  bool skip_bad_dataset_lines = false;  // JSONL prompt sets: skip and count bad lines (false: fail)

  template <class V>
  void VisitFields(V& v) {
    v.Field("name", &name, "run directory name: <runs_dir>/<name>");
    v.Field("runs_dir", &runs_dir, "parent folder of run directories");
    v.Field("seed", &seed, "master seed; every RNG in the job derives from it",
            Range<int64_t>{0, INT64_MAX});
    v.Field("threads", &threads, "LibTorch threads per process (0 = all online CPUs)",
            Range<int>{0, 1024});
    v.Field("skip_bad_dataset_lines", &skip_bad_dataset_lines,
            "JSONL prompt sets: skip bad lines and count them (false: the first bad line fails the job)");
  }
  Status Validate() const;
};

struct LoggingConfig {
  std::string level = "info";  // debug | info | warning | error
  int verbosity = 0;           // SCORCH_VLOG(n) prints when n <= verbosity
  bool color = true;           // colour level letters on a terminal

  template <class V>
  void VisitFields(V& v) {
    v.Field("level", &level, "debug | info | warning | error");
    v.Field("verbosity", &verbosity, "SCORCH_VLOG(n) lines print when n <= verbosity",
            Range<int>{0, 10});
    v.Field("color", &color, "colour level letters on a terminal");
  }
  Status Validate() const;
};

struct ModelSection {
  std::string path;         // Hugging Face model directory to start from ("" = init_config)
  std::string init_config;  // config.json for a randomly initialised model (seeded by job.seed)
  std::string tokenizer = "char";  // "char" (synthetic task), or a tokenizer.json path

  template <class V>
  void VisitFields(V& v) {
    v.Field("path", &path, "Hugging Face model directory to start from (empty: use init_config)");
    v.Field("init_config", &init_config, "config.json for a random, seeded initial model");
    v.Field("tokenizer", &tokenizer, "\"char\" for the synthetic task, or a tokenizer.json path");
  }
};

struct StageConfig {
  std::string name;                     // unique within the job; names outputs
  StageKind kind = StageKind::kSft;     // what the stage does
  int64_t steps = 1;                    // optimizer steps (or eval/collect batches)
  int batch_prompts = 8;                // prompts per step
  int samples_per_prompt = 1;           // trajectories per prompt (GRPO group size)
  std::string protocol = "single_turn"; // single_turn | self_correct | two_turn | post_completion[_train]
  std::string dataset = "synthetic";    // "synthetic", "stage:<collect stage>" or a JSONL path
  double lr = 1e-5;                     // peak learning rate
  int64_t warmup_steps = 0;             // linear lr warmup (steps)
  double temperature = -1.0;            // sampling temperature (-1 = rollout.temperature; 0 = greedy)
  int max_new_tokens = 0;               // tokens per generated turn (0 = rollout.max_new_tokens)
  double kl_beta = -1.0;                // KL coefficient (-1 = learner.kl_beta)
  int max_staleness = 0;                // RL: policy versions a trajectory may lag (0 = on-policy)
  double demo_wrong_fraction = 0.3;     // sft on synthetic demos: share with a wrong first attempt
  bool demo_recheck = false;            // sft on self_correct demos: verdicts re-derive, restate, then judge
  double demo_verdict_only_fraction = 0.0;  // sft on self_correct demos: share where only the verdicts train
  // PCL's mixed objective (ALGORITHMS §4.5), grpo stages with a post_completion protocol:
  // per prompt group, one demonstration trained on its reasoning (w_1) and one on its
  // evaluation (w_2, wrong attempts as context at demo_wrong_fraction), in the same step.
  double sft_reason_weight = 0.0;       // w_1 of L_SFT-reason (0 = off)
  double sft_eval_weight = 0.0;         // w_2 of L_SFT-eval (0 = off)
  int64_t eval_offset = 0;              // eval: first held-out problem index
  // M-DPO (ALGORITHMS §2.3, §4.3). Pairs are built online: samples_per_prompt first attempts
  // a¹ per prompt, each continued mdpo_continuations times after a forced "wrong" verdict and
  // once after a forced "correct" one [U: the paper samples its pairs from the model's own
  // trajectories; forcing the verdict gives every a¹ both branches], all sharing a¹.
  std::vector<std::string> mdpo_sets = {"d1", "d2", "d3"};  // which pair sets train
  int mdpo_continuations = 2;           // "wrong"-verdict continuations per a¹
  double mdpo_eta = 0.1;                // η (DPO β) of −log σ(η(ℓ_w − ℓ_l))
  double mdpo_nll_coef = 0.0;           // weight of the NLL term on the chosen side (0 = off)
  // SWIFT (ALGORITHMS §5). swift_train samples and grades trajectories and trains a reward head
  // on the frozen policy's hidden states (lr = the head's AdamW lr); bon samples
  // samples_per_prompt candidates per problem and compares Best-of-N selectors.
  std::string swift_features = "hidden";  // hidden | logits
  int swift_last_layers = 0;            // 0 = every hidden state (L+1), k = the last k
  bool swift_apply_norm = false;        // apply the final norm to every chosen layer
  bool swift_gate = true;               // false: R = mean token reward (no gate)
  std::string swift_loss = "bce";       // bce | pairwise | hinge
  int swift_epochs = 40;                // at most, with early stopping
  int swift_patience = 3;               // epochs without validation improvement
  double swift_val_fraction = 0.2;      // held out (by problem) for validation
  int swift_batch = 16;                 // sequences per head update
  std::string swift_head;               // bon: "stage:<swift_train stage>", a head directory, or "" (none)

  template <class V>
  void VisitFields(V& v) {
    v.Field("name", &name, "unique stage name; names its outputs");
    v.Field("kind", &kind, "sft | collect | grpo | ppo | mdpo | eval | swift_train | bon");
    v.Field("steps", &steps, "optimizer steps (eval/collect: batches)", Range<int64_t>{0, 100000000});
    v.Field("batch_prompts", &batch_prompts, "prompts per step", Range<int>{1, 1 << 20});
    v.Field("samples_per_prompt", &samples_per_prompt, "trajectories per prompt (GRPO group)",
            Range<int>{1, 4096});
    v.Field("protocol", &protocol,
            "turn protocol: single_turn | self_correct | two_turn | post_completion | post_completion_train "
            "(post_completion with the evaluation after the POST marker)");
    v.Field("dataset", &dataset, "\"synthetic\" or a JSONL path");
    v.Field("lr", &lr, "peak learning rate", Range<double>{0.0, 1.0});
    v.Field("warmup_steps", &warmup_steps, "linear learning-rate warmup, steps", Range<int64_t>{0, 100000000});
    v.Field("temperature", &temperature, "sampling temperature (-1: rollout.temperature; 0: greedy)",
            Range<double>{-1.0, 100.0});
    v.Field("max_new_tokens", &max_new_tokens, "tokens per generated turn (0: rollout.max_new_tokens)",
            Range<int>{0, 1 << 20});
    v.Field("kl_beta", &kl_beta, "KL-to-reference coefficient (-1: learner.kl_beta)", Range<double>{-1.0, 100.0});
    v.Field("max_staleness", &max_staleness, "RL: how many versions a trajectory may lag (0 = on-policy)",
            Range<int>{0, 1000});
    v.Field("demo_wrong_fraction", &demo_wrong_fraction,
            "sft on synthetic demos: share whose first attempt is wrong and then corrected",
            Range<double>{0.0, 1.0});
    v.Field("demo_recheck", &demo_recheck,
            "sft on self_correct demos: each verdict first works the problem again and then judges the "
            "boxed answer against it (free-form verification reasoning, ALGORITHMS §1.1)");
    v.Field("demo_verdict_only_fraction", &demo_verdict_only_fraction,
            "sft on self_correct demos: share of demonstrations in which only the \"[VERIFY] correct.\" / "
            "\"[VERIFY] wrong.\" strings train (attempts, corrections and verification reasoning are context); "
            "the rest train in full, which keeps the attempts in place (1 on its own lets solving drift)",
            Range<double>{0.0, 1.0});
    v.Field("sft_reason_weight", &sft_reason_weight,
            "grpo + post_completion: weight w_1 of SFT on a demonstration's reasoning in each step (PCL; 0 = off)",
            Range<double>{0.0, 100.0});
    v.Field("sft_eval_weight", &sft_eval_weight,
            "grpo + post_completion: weight w_2 of SFT on a demonstration's evaluation in each step (PCL; 0 = off)",
            Range<double>{0.0, 100.0});
    v.Field("eval_offset", &eval_offset, "eval: index of the first held-out problem", Range<int64_t>{0, INT64_MAX});
    v.Field("mdpo_sets", &mdpo_sets,
            "mdpo: pair sets to train, any of d1 (a1 wrong: corrected > not corrected), d2 (a1 right: kept > "
            "broken), d3 (a1 wrong: corrected > \"correct\" verdict; a1 right: \"correct\" verdict > broken)");
    v.Field("mdpo_continuations", &mdpo_continuations,
            "mdpo: continuations sampled from each first attempt after a forced \"wrong\" verdict",
            Range<int>{1, 64});
    v.Field("mdpo_eta", &mdpo_eta, "mdpo: eta (DPO beta) scaling the implicit reward margin",
            Range<double>{1e-6, 100.0});
    v.Field("mdpo_nll_coef", &mdpo_nll_coef, "mdpo: weight of the NLL term on the preferred side (0 = off)",
            Range<double>{0.0, 100.0});
    v.Field("swift_features", &swift_features, "swift_train: head input, hidden (hidden states) | logits");
    v.Field("swift_last_layers", &swift_last_layers, "swift_train: use the last k hidden states (0: all L+1)",
            Range<int>{0, 100000});
    v.Field("swift_apply_norm", &swift_apply_norm, "swift_train: apply the model's final norm to every layer");
    v.Field("swift_gate", &swift_gate, "swift_train: gated token average (false: plain mean)");
    v.Field("swift_loss", &swift_loss, "swift_train: bce | pairwise | hinge");
    v.Field("swift_epochs", &swift_epochs, "swift_train: most epochs (early stopping)", Range<int>{1, 100000});
    v.Field("swift_patience", &swift_patience, "swift_train: epochs without validation improvement before stopping",
            Range<int>{1, 100000});
    v.Field("swift_val_fraction", &swift_val_fraction, "swift_train: share of problems held out for validation",
            Range<double>{0.01, 0.9});
    v.Field("swift_batch", &swift_batch, "swift_train: sequences per head update", Range<int>{1, 1 << 20});
    v.Field("swift_head", &swift_head,
            "bon: the SWIFT head, \"stage:<swift_train stage>\" or a directory (empty: no SWIFT selector)");
  }
  Status Validate() const;
};

// The built-in synthetic task (orchestrator/synthetic_task.h), used when a stage's dataset is
// "synthetic".
struct TaskConfig {
  int min_ops = 1;             // fewest arithmetic steps per problem
  int max_ops = 2;             // most arithmetic steps per problem
  int max_operand = 20;        // operands drawn from [1, max_operand]
  bool allow_multiply = true;  // include "times" steps
  bool word_problems = true;   // story text (false: "Compute 12 + 7 - 5.")
  template <class V>
  void VisitFields(V& v) {
    v.Field("min_ops", &min_ops, "fewest arithmetic steps per problem", Range<int>{1, 16});
    v.Field("max_ops", &max_ops, "most arithmetic steps per problem", Range<int>{1, 16});
    v.Field("max_operand", &max_operand, "operands are drawn from [1, max_operand]", Range<int>{1, 1000000});
    v.Field("allow_multiply", &allow_multiply, "include multiplication steps");
    v.Field("word_problems", &word_problems, "story problems (false: bare expressions)");
  }
  Status Validate() const;
};

// Texts the turn protocols write around the model's turns (model/prompt_texts.h). Empty =
// the papers' text; a toy character-level model is better served by short ones.
struct PromptsConfig {
  std::string srr_system_prompt;
  std::string srr_user_suffix;
  std::string self_eval_instruction;
  std::string correction_instruction;
  std::string eval_system_prompt;
  std::string eval_user_suffix;
  std::string pcl_system_prompt;
  template <class V>
  void VisitFields(V& v) {
    v.Field("srr_system_prompt", &srr_system_prompt, "self_correct system prompt (empty: ALGORITHMS §1.2)");
    v.Field("srr_user_suffix", &srr_user_suffix, "appended to the problem (self_correct, two_turn)");
    v.Field("self_eval_instruction", &self_eval_instruction, "the self-evaluation user turn");
    v.Field("correction_instruction", &correction_instruction, "the correction user turn");
    v.Field("eval_system_prompt", &eval_system_prompt, "single_turn system prompt");
    v.Field("eval_user_suffix", &eval_user_suffix, "single_turn suffix appended to the problem");
    v.Field("pcl_system_prompt", &pcl_system_prompt, "post_completion system prompt (empty: ALGORITHMS §1.4's)");
  }
};

// Rollout workers: generation capacity and default sampling.
struct RolloutConfig {
  int slots = 32;               // concurrent sequences per worker (KV-cache slots)
  int max_seq_len = 1024;       // tokens per slot (prompt + every turn)
  int max_turns = 2;            // self_correct: attempts per trajectory
  double temperature = 1.0;     // default sampling temperature
  double top_p = 1.0;           // nucleus mass
  int max_new_tokens = 128;     // default tokens per generated turn
  template <class V>
  void VisitFields(V& v) {
    v.Field("slots", &slots, "concurrent sequences per worker", Range<int>{1, 4096});
    v.Field("max_seq_len", &max_seq_len, "tokens per sequence slot", Range<int>{16, 1 << 20});
    v.Field("max_turns", &max_turns, "self_correct: attempts per trajectory", Range<int>{1, 16});
    v.Field("temperature", &temperature, "default sampling temperature (0 = greedy)", Range<double>{0.0, 100.0});
    v.Field("top_p", &top_p, "nucleus sampling mass", Range<double>{0.0, 1.0});
    v.Field("max_new_tokens", &max_new_tokens, "default tokens per generated turn", Range<int>{1, 1 << 20});
  }
};

// Learners: optimisation and objective settings shared by the stages.
struct LearnerConfig {
  int micro_batch_rows = 16;        // sequences per forward/backward (gradient accumulation)
  double weight_decay = 0.0;        // AdamW decoupled weight decay
  double max_grad_norm = 1.0;       // global gradient clip (<= 0: off)
  double min_lr_ratio = 0.1;        // cosine floor as a fraction of the stage lr
  double kl_beta = 0.0;             // default KL-to-reference coefficient (GRPO loss)
  std::string kl_estimator = "k3";  // k1 | k2 | k3
  double clip_low = 0.2;            // ratio clip 1 - clip_low
  double clip_high = 0.2;           // ratio clip 1 + clip_high
  bool scale_by_std = true;         // GRPO: divide advantages by the group std
  std::string aggregation = "token";  // token | sequence: loss averaging
  int64_t checkpoint_every = 50;    // optimizer steps between checkpoints (0: stage ends only)
  int keep_checkpoints = 2;         // complete checkpoints kept
  std::string weights_transport = "shared";  // shared (embedded) | file
  std::string backend = "mpi";      // data-parallel learners' collectives: mpi | nccl
  // PPO (ALGORITHMS §4.2): a critic (a copy of the policy's trunk + a value head) trained
  // beside the policy; the stage's kl_beta is the per-token KL penalty folded into the reward.
  double ppo_critic_lr = 0.0;       // critic peak lr (0: 10 x the stage lr, SRR's ratio)
  double ppo_gamma = 1.0;           // GAE discount
  double ppo_lambda = 1.0;          // GAE lambda
  double ppo_value_clip = 0.2;      // value clip around the sampling-time value (<= 0: off)
  bool ppo_whiten_advantages = true;  // whiten advantages over the batch's trained tokens
  template <class V>
  void VisitFields(V& v) {
    v.Field("micro_batch_rows", &micro_batch_rows, "sequences per forward/backward pass", Range<int>{1, 1 << 20});
    v.Field("weight_decay", &weight_decay, "AdamW weight decay", Range<double>{0.0, 10.0});
    v.Field("max_grad_norm", &max_grad_norm, "global gradient-norm clip (<= 0: off)", Range<double>{-1.0, 1e9});
    v.Field("min_lr_ratio", &min_lr_ratio, "cosine schedule floor, fraction of the stage lr", Range<double>{0.0, 1.0});
    v.Field("kl_beta", &kl_beta, "KL-to-reference coefficient in the GRPO loss", Range<double>{0.0, 100.0});
    v.Field("kl_estimator", &kl_estimator, "k1 | k2 | k3");
    v.Field("clip_low", &clip_low, "policy ratio clip below 1", Range<double>{0.0, 1.0});
    v.Field("clip_high", &clip_high, "policy ratio clip above 1", Range<double>{0.0, 10.0});
    v.Field("scale_by_std", &scale_by_std, "GRPO: divide advantages by the group's std");
    v.Field("aggregation", &aggregation, "token | sequence: how per-token losses are averaged");
    v.Field("checkpoint_every", &checkpoint_every, "optimizer steps between checkpoints (0: stage ends)",
            Range<int64_t>{0, 100000000});
    v.Field("keep_checkpoints", &keep_checkpoints, "complete checkpoints kept", Range<int>{1, 1000});
    v.Field("weights_transport", &weights_transport, "shared (same process) | file");
    v.Field("backend", &backend, "collectives between cluster.roles.learner > 1 ranks: mpi (CPU) | nccl (GPU)");
    v.Field("ppo_critic_lr", &ppo_critic_lr, "PPO critic peak lr (0: 10 x the stage lr)", Range<double>{0.0, 1.0});
    v.Field("ppo_gamma", &ppo_gamma, "PPO: GAE discount gamma", Range<double>{0.0, 1.0});
    v.Field("ppo_lambda", &ppo_lambda, "PPO: GAE lambda", Range<double>{0.0, 1.0});
    v.Field("ppo_value_clip", &ppo_value_clip, "PPO: value clip around the sampling-time value (<= 0: off)",
            Range<double>{-1.0, 1e6});
    v.Field("ppo_whiten_advantages", &ppo_whiten_advantages, "PPO: whiten advantages over the batch");
  }
  Status Validate() const;
};

// The reward the reward service gives each trajectory (ALGORITHMS §3; reward_config.h): a
// preset's rules followed by `rules`. Names are checked against the reward service's rule list
// when the job starts (the config library does not link the reward service).
struct RewardRuleConfig {
  std::string name;     // a reward rule, e.g. format_verdict, verdict_correctness, cosine
  double weight = 1.0;  // finite; may be negative

  template <class V>
  void VisitFields(V& v) {
    v.Field("name", &name, "rule name (see `scorch reward --help` for the list)");
    v.Field("weight", &weight, "its weight in the sum", Range<double>{-1e6, 1e6});
  }
  Status Validate() const;
};

struct RewardSection {
  std::string preset = "correctness";  // correctness | srr_bonus | srr_staged | cosine | pcl | "" (none)
  std::vector<RewardRuleConfig> rules;  // added after the preset's rules, with default parameters

  template <class V>
  void VisitFields(V& v) {
    v.Field("preset", &preset,
            "rule preset: correctness (SRR's plain oracle reward) | srr_bonus | srr_staged | cosine | pcl | \"\"");
    v.Field("rules", &rules, "more rules, each {name, weight}, added after the preset's");
  }
  Status Validate() const;
};

// The mpirun layout (`mpirun -np N scorch run job.yaml`): how many ranks take each role.
// Ranks are assigned in this order: the orchestrator (rank 0), the learners (ranks 1..m; their
// own communicator, learner rank 0 talks to the orchestrator), the reward services, then the
// rollout workers (the rest). N must equal the sum. Embedded runs (`scorch run` without mpirun)
// ignore it and use rollout_workers threads instead.
struct RolesConfig {
  int orchestrator = 1;  // exactly one
  int learner = 1;       // data-parallel learner ranks
  int reward = 0;        // reward-service ranks; 0 = the orchestrator grades in its own process
  int rollout = 1;       // rollout-worker ranks (more may join elastically: scorch rollout --connect)

  int total() const { return orchestrator + learner + reward + rollout; }

  template <class V>
  void VisitFields(V& v) {
    v.Field("orchestrator", &orchestrator, "orchestrator ranks (exactly 1, rank 0)", Range<int>{1, 1});
    v.Field("learner", &learner, "data-parallel learner ranks (ranks 1..m)", Range<int>{1, 100000});
    v.Field("reward", &reward, "reward-service ranks; 0 = the orchestrator grades in process", Range<int>{0, 4096});
    v.Field("rollout", &rollout, "rollout-worker ranks (the last ranks)", Range<int>{0, 100000});
  }
};

struct ClusterConfig {
  std::string control_endpoint = "inproc://scorch-control";  // embedded: orchestrator ROUTER endpoint
  int rollout_workers = 1;  // embedded: rollout worker threads
  int reward_workers = 1;   // grader worker processes per reward service
  RolesConfig roles;        // mpirun: ranks per role
  std::string bind_host = "127.0.0.1";  // mpirun: where the control plane and reward sockets bind
  std::string advertise_host;           // mpirun: the address other hosts dial ("" = bind_host, or
                                        // this host's name when bind_host is 0.0.0.0)
  int control_port = 0;                 // mpirun: control-plane port (0 = any free port)
  std::string token;  // Hello token for tcp control planes ("" = $SCORCH_TOKEN, else generated per run)
  double heartbeat_timeout_s = 10.0;  // a worker silent this long is declared lost
  double lease_timeout_s = 300.0;     // a work item not answered by then is re-queued
  double peers_timeout_s = 120.0;     // how long the orchestrator waits for its first workers
  std::string status_host = "127.0.0.1";  // live /status and /metrics (loopback unless configured)
  int status_port = 0;                    // 0 = a free port (written to runs/NAME/status.addr); -1 = off

  template <class V>
  void VisitFields(V& v) {
    v.Field("control_endpoint", &control_endpoint,
            "embedded: orchestrator ROUTER endpoint (inproc://; tcp://127.0.0.1:PORT lets scorch rollout join)");
    v.Field("rollout_workers", &rollout_workers, "embedded: rollout worker threads", Range<int>{0, 100000});
    v.Field("reward_workers", &reward_workers, "grader worker processes per reward service", Range<int>{1, 4096});
    v.Field("roles", &roles, "mpirun: ranks per role, assigned in order orchestrator, learner, reward, rollout");
    v.Field("bind_host", &bind_host,
            "mpirun: address the control plane and reward sockets bind (127.0.0.1 = this host only; "
            "0.0.0.0 or an interface address for several hosts)");
    v.Field("advertise_host", &advertise_host,
            "mpirun: address other ranks dial (\"\" = bind_host, or this host's name for 0.0.0.0)");
    v.Field("control_port", &control_port, "mpirun: control-plane port (0 = any free port)", Range<int>{0, 65535});
    v.Field("token", &token,
            "shared secret every worker joining a tcp control plane must send (\"\" = $SCORCH_TOKEN, "
            "else a random one written to runs/NAME/join.token)");
    v.Field("heartbeat_timeout_s", &heartbeat_timeout_s, "a worker silent this long is declared lost (s)",
            Range<double>{0.1, 86400.0});
    v.Field("lease_timeout_s", &lease_timeout_s, "a work item not answered by then is re-queued (s)",
            Range<double>{0.1, 86400.0});
    v.Field("peers_timeout_s", &peers_timeout_s,
            "how long the orchestrator waits at the start for its rollout workers and learner (s); "
            "raise it where ranks start slowly (a big allocation, a cold file system)",
            Range<double>{1.0, 86400.0});
    v.Field("status_host", &status_host,
            "address of the live HTTP status server (GET /status, /metrics); loopback unless you mean it");
    v.Field("status_port", &status_port,
            "its port: 0 = any free port (the address is written to runs/NAME/status.addr), -1 = no server",
            Range<int>{-1, 65535});
  }
  Status Validate() const;
};

struct RunConfig {
  JobConfig job;
  LoggingConfig logging;
  ModelSection model;
  TaskConfig task;
  PromptsConfig prompts;
  RolloutConfig rollout;
  LearnerConfig learner;
  std::vector<StageConfig> stages;
  RewardSection reward;
  ClusterConfig cluster;

  template <class V>
  void VisitFields(V& v) {
    v.Field("job", &job, "job identity and seeding");
    v.Field("logging", &logging, "human-readable logs (metrics go to metrics.jsonl)");
    v.Field("model", &model, "the policy model to start from");
    v.Field("task", &task, "the built-in synthetic task");
    v.Field("prompts", &prompts, "protocol texts (empty: the papers')");
    v.Field("rollout", &rollout, "rollout workers: capacity and default sampling");
    v.Field("learner", &learner, "learners: optimisation and objectives");
    v.Field("stages", &stages, "the stages, run in order");
    v.Field("reward", &reward, "the trajectory reward (rules and weights)");
    v.Field("cluster", &cluster, "process layout");
  }
  Status Validate() const;
};

// Applies one "--set a.b.c=value" override to a parsed document. Path segments that are
// integers index lists (stages.0.steps=5); the value is parsed as YAML (so lists and numbers
// keep their type). Missing mappings are created. Errors name the override.
Status ApplyOverride(YAML::Node& root, const std::string& assignment, SourceInfo* src);

// Loads `path`, applies `overrides` in order, reads and validates the whole config. Every
// problem is reported at once, one per line, each naming its key path and file:line:column.
StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                  const std::vector<std::string>& overrides = {});
// Same, from YAML text (`name` is used in error locations).
StatusOr<RunConfig> ParseRunConfig(const std::string& yaml_text, const std::string& name,
                                   const std::vector<std::string>& overrides = {});

// The resolved config as YAML, with each field's doc as a comment.
std::string ResolvedConfigYaml(const RunConfig& config);

}  // namespace scorch::config
