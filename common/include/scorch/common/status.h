// Status and StatusOr<T>: how scorch reports expected failures.
//
// Every function that can fail for reasons outside the program's control (I/O, a peer gone,
// a malformed message, an invalid config, a timeout) returns Status or StatusOr<T>. Bugs use
// SCORCH_CHECK (check.h) instead. Modelled on LevelDB's Status: success is a null pointer
// and costs nothing; failures carry a code and a human-readable message that names the
// problem. Both types are [[nodiscard]] so an ignored error is a compile warning.
//
// Thread-safety: values; distinct objects may be used from distinct threads freely.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace scorch {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad input from a user or a peer: config, message, dataset line
  kNotFound = 2,         // a file, key, tensor or peer that should exist does not
  kAlreadyExists = 3,
  kOutOfRange = 4,       // a value outside its allowed range
  kDeadlineExceeded = 5, // a wait or computation ran past its deadline
  kUnavailable = 6,      // a peer or service is not reachable right now; retrying may help
  kDataLoss = 7,         // a file or message is truncated or corrupt
  kIoError = 8,          // the operating system refused a read/write/rename
  kFailedPrecondition = 9,
  kUnimplemented = 10,
  kCancelled = 11,
  kResourceExhausted = 12,  // a size, depth or memory bound was hit
  kInternal = 13,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }
  static Status DeadlineExceeded(std::string msg) { return {StatusCode::kDeadlineExceeded, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) { return {StatusCode::kFailedPrecondition, std::move(msg)}; }
  static Status Unimplemented(std::string msg) { return {StatusCode::kUnimplemented, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // Returns a copy with `context + ": "` prepended to the message (no-op when OK).
  Status WithContext(std::string_view context) const;

  bool IsInvalidArgument() const { return code() == StatusCode::kInvalidArgument; }
  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsDeadlineExceeded() const { return code() == StatusCode::kDeadlineExceeded; }
  bool IsUnavailable() const { return code() == StatusCode::kUnavailable; }
  bool IsDataLoss() const { return code() == StatusCode::kDataLoss; }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;  // null == OK; shared so copies are cheap
};

std::ostream& operator<<(std::ostream& os, const Status& s);

// Holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : v_(value) {}                 // NOLINT(runtime/explicit)
  StatusOr(T&& value) : v_(std::move(value)) {}           // NOLINT(runtime/explicit)
  StatusOr(Status status) : v_(std::move(status)) {       // NOLINT(runtime/explicit)
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("StatusOr constructed from OK status");
  }
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, T>>>
  StatusOr(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT(runtime/explicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  // REQUIRES: ok(). Accessing the value of an error is a bug and aborts.
  const T& value() const& { CheckOk(); return std::get<T>(v_); }
  T& value() & { CheckOk(); return std::get<T>(v_); }
  T&& value() && { CheckOk(); return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckOk() const;
  std::variant<Status, T> v_;
};

[[noreturn]] void DieOnBadStatusOrAccess(const Status& s);

template <typename T>
void StatusOr<T>::CheckOk() const {
  if (!ok()) DieOnBadStatusOrAccess(std::get<Status>(v_));
}

}  // namespace scorch

#define SCORCH_STATUS_CONCAT_INNER_(a, b) a##b
#define SCORCH_STATUS_CONCAT_(a, b) SCORCH_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define SCORCH_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::scorch::Status _scorch_status = (expr);        \
    if (!_scorch_status.ok()) return _scorch_status; \
  } while (0)

// `SCORCH_ASSIGN_OR_RETURN(auto x, F());` — declares x from a StatusOr or returns its error.
#define SCORCH_ASSIGN_OR_RETURN(lhs, rexpr) \
  SCORCH_ASSIGN_OR_RETURN_IMPL_(SCORCH_STATUS_CONCAT_(_scorch_statusor_, __LINE__), lhs, rexpr)
#define SCORCH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                  \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
