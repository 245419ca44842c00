#!/bin/sh
# Every tracked C++ file (.cpp, .hpp) follows .clang-format: prints the offending lines and fails
# otherwise. Not the C header plugin-api/include/strata/plugin/abi.h: its text, spacing included,
# is fingerprinted by tests/sdk, so a reformat would read as an ABI change.
# Skips (exit 77) outside a git checkout or without clang-format, which scripts/setup.sh installs.
root=${1:?usage: check_format.sh SOURCE_ROOT}
cd "$root" || exit 1
command -v clang-format >/dev/null || { echo "skip: clang-format is not installed"; exit 77; }
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "skip: not a git checkout"; exit 77; }
files=$(git ls-files '*.cpp' '*.hpp')
# shellcheck disable=SC2086 # one file name per word: tracked names have no spaces
if ! clang-format --dry-run --Werror $files; then
  echo "fix: clang-format -i \$(git ls-files '*.cpp' '*.hpp')"
  exit 1
fi
echo "$(echo "$files" | wc -l) files follow .clang-format"
