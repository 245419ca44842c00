#pragma once
// Running a helper program (losetup, mkfs, ...) from a test and keeping what it printed.

#include <string>
#include <vector>

namespace strata::testing {

/// Runs `argv` (argv[0] an absolute path) with stdin closed, stdout into `out` when set, stderr
/// into `err` when set; returns the exit status (-1 when it could not run or was killed). For
/// small outputs only: stdout is read to its end before stderr.
int run_command(const std::vector<std::string>& argv, std::string* out = nullptr,
                std::string* err = nullptr);

} // namespace strata::testing
