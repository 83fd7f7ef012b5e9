# lib.sh: the few helpers the kit's sh tests share. Sourced; POSIX sh.
#
# Each check prints "ok - WHAT" or "not ok - WHAT" with the reason, and a
# failed check makes kit_finish exit 1 after every check has run, so one run
# shows every failure.

kit_passed=0
kit_failed=0
kit_root=$(cd "$(dirname "$0")/../.." && pwd)
generator="$kit_root/scripts/new-service"

# kit_scratch_dir: prints a new scratch directory below $HEXKIT_TEST_TMP (or
# $TMPDIR, or /tmp), removed by kit_finish unless HEXKIT_KEEP_TMP=1.
kit_scratch_dir() {
    mktemp -d "${HEXKIT_TEST_TMP:-${TMPDIR:-/tmp}}/hexkit-test.XXXXXX"
}

pass() {
    kit_passed=$((kit_passed + 1))
    printf 'ok - %s\n' "$1"
}

# fail WHAT WHY
fail() {
    kit_failed=$((kit_failed + 1))
    printf 'not ok - %s\n' "$1"
    [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/    /'
}

# check WHAT COMMAND...: passes when COMMAND succeeds.
check() {
    check_what=$1
    shift
    if check_output=$("$@" 2>&1); then
        pass "$check_what"
    else
        fail "$check_what" "command failed: $*
$check_output"
    fi
}

# check_not WHAT COMMAND...: passes when COMMAND fails.
check_not() {
    check_what=$1
    shift
    if check_output=$("$@" 2>&1); then
        fail "$check_what" "command unexpectedly succeeded: $*
$check_output"
    else
        pass "$check_what"
    fi
}

# run_generator ARGS...: runs the generator with stdin from /dev/null (never a
# terminal), setting $status, $stdout and $stderr.
run_generator() {
    run_stdout_file=$(mktemp "${TMPDIR:-/tmp}/hexkit-out.XXXXXX")
    run_stderr_file=$(mktemp "${TMPDIR:-/tmp}/hexkit-err.XXXXXX")
    status=0
    "$generator" "$@" </dev/null >"$run_stdout_file" 2>"$run_stderr_file" || status=$?
    # shellcheck disable=SC2034 # read by the tests that source this file
    stdout=$(cat "$run_stdout_file")
    stderr=$(cat "$run_stderr_file")
    rm -f "$run_stdout_file" "$run_stderr_file"
}

# expect_status WHAT EXPECTED: checks $status from the last run_generator.
expect_status() {
    if [ "$status" -eq "$2" ]; then
        pass "$1: exit status $2"
    else
        fail "$1: exit status $2" "got $status; stderr: $stderr"
    fi
}

# expect_stderr WHAT PATTERN: checks the last run's stderr against an
# extended regular expression.
expect_stderr() {
    if printf '%s\n' "$stderr" | grep -qE -- "$2"; then
        pass "$1: says /$2/"
    else
        fail "$1: says /$2/" "stderr was: $stderr"
    fi
}

# expect_one_line WHAT: the refusal is a single line on stderr.
expect_one_line() {
    if [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]; then
        pass "$1: one-line message"
    else
        fail "$1: one-line message" "stderr was: $stderr"
    fi
}

# no_template_name WHAT DIR: passes when neither a path nor a file under DIR
# holds the template's name in any case.
no_template_name() {
    no_name_paths=$(cd "$2" && find . -print | grep -iE 'hex-?svc')
    no_name_files=$(grep -rliE 'hex-?svc' "$2")
    if [ -z "$no_name_paths" ] && [ -z "$no_name_files" ]; then
        pass "$1"
    else
        fail "$1" "paths: $no_name_paths
files: $no_name_files"
    fi
}

# kit_finish: prints the totals and exits 1 when any check failed.
kit_finish() {
    printf '%d passed, %d failed\n' "$kit_passed" "$kit_failed"
    [ "$kit_failed" -eq 0 ] || exit 1
    exit 0
}
