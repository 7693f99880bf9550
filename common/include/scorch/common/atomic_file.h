// Crash-safe file writes: a file is either its old contents or its new contents, never half.
//
// AtomicWriteFile writes to a temporary file in the same folder, fsyncs it, renames it over
// the target, then fsyncs the folder so the rename itself is durable. A crash at any point
// leaves the previous file intact (plus, at worst, a stray "*.tmp.*" file that
// RemoveStaleTempFiles cleans up). Thread-safe: concurrent writers of the same path each
// produce a complete file; the last rename wins.
//
// Errors: IoError naming the path and the failing system call (with strerror).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "scorch/common/status.h"

namespace scorch {

Status AtomicWriteFile(const std::filesystem::path& path, std::string_view contents);

// Reads a whole file. NotFound if it does not exist; IoError otherwise.
StatusOr<std::string> ReadFileToString(const std::filesystem::path& path);

// fsyncs a file or folder by path.
Status FsyncPath(const std::filesystem::path& path);

// Removes "<name>.tmp.*" files left in `dir` by interrupted atomic writes. Returns how many.
int RemoveStaleTempFiles(const std::filesystem::path& dir);

// Test-only: called between writing the temp file and renaming it (a crash point).
enum class AtomicWritePoint { kTempWritten, kRenamed };
void TEST_SetAtomicWriteHook(std::function<void(AtomicWritePoint)> hook);

}  // namespace scorch
