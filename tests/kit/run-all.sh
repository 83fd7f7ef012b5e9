#!/bin/sh
# run-all.sh: every kit-level test (what `scripts/test-all --only kit-tests`
# runs). Each script runs even when an earlier one failed; the exit status is
# non-zero when any failed.
#
#   sh tests/kit/run-all.sh
set -u
dir=$(cd "$(dirname "$0")" && pwd)
failed=""
for test_script in "$dir"/test-*.sh; do
    printf '\n=== %s\n' "${test_script#"$dir"/}"
    sh "$test_script" || failed="$failed ${test_script#"$dir"/}"
done
if [ -n "$failed" ]; then
    printf '\nkit tests failed:%s\n' "$failed"
    exit 1
fi
printf '\nkit tests: all passed\n'
