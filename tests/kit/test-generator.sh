#!/bin/sh
# test-generator.sh: scripts/new-service on its fixture template
# (tests/kit/fixtures/template, a tiny C program with every construct the
# generator handles): refusals, name forms in contents and paths, the
# example/bare markers, the manifest, .hexkit, the config file, prompts, and
# that a failed generation leaves nothing behind. Needs sh, coreutils, git and
# a C compiler; takes a few seconds.
#
#   sh tests/kit/test-generator.sh
#
# The end-to-end run on the real template is tests/kit/test-generator-e2e.sh.

# The sh -c scripts below take their arguments as "$1" on purpose.
# shellcheck disable=SC2016
set -u
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"

fixture="$kit_root/tests/kit/fixtures/template"
fixture_manifest="$kit_root/tests/kit/fixtures/example-manifest"
work=$(kit_scratch_dir)
trap '[ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$work"' EXIT
cc=${CC:-cc}

# generate ARGS...: run_generator on the fixture template.
generate() {
    run_generator --template "$fixture" --manifest "$fixture_manifest" "$@"
}

# ---- refusals -------------------------------------------------------------------

# refuse_name NAME PATTERN: the name is refused with status 2, a one-line
# message matching PATTERN, and no output directory.
refuse_name() {
    out="$work/refused"
    generate --name "$1" --out "$out"
    expect_status "refuses --name '$1'" 2
    expect_stderr "refuses --name '$1'" "$2"
    expect_one_line "refuses --name '$1'"
    check_not "refuses --name '$1': creates no directory" test -e "$out"
}

echo "# names the generator refuses"
refuse_name "" "name is empty; use 1-32 characters"
refuse_name "9x" "starts with a digit; it must start with a letter"
refuse_name "-x" "starts with '-'; it must start with a letter"
refuse_name "_x" "starts with '_'; it must start with a letter"
refuse_name "a b" "contains whitespace; use - or _ between words, e.g. 'a-b'"
refuse_name "Linkd" "contains uppercase letters; use lowercase, e.g. 'linkd'"
refuse_name "link!" "contains a character other than a-z, 0-9, - and _"
refuse_name "link.d" "contains a character other than a-z, 0-9, - and _"
refuse_name "linkd-" "ends with a separator"
refuse_name "link--d" "two separators in a row"
refuse_name "abcdefghijabcdefghijabcdefghijabc" "is 33 characters long; use at most 32"
refuse_name "myhexsvc" "contains the template's own name"
refuse_name "size_t" "ends in _t"
for keyword in int while static switch bool true nullptr alignas typeof; do
    refuse_name "$keyword" "is a C keyword; pick another name, e.g. '${keyword}d'"
done
for libc in main errno stdin signal time link read write socket; do
    refuse_name "$libc" "clashes with the C library/POSIX name '$libc'; pick another name"
done
for ours in fiber ctx http json runtime domain application platform hexkit; do
    refuse_name "$ours" "clashes with hexkit's own prefix '$ours'; pick another name"
done
refuse_name "hexsvc" "contains the template's own name"
refuse_name "uv" "clashes with the prefix of the library 'uv'"
refuse_name "llhttp" "clashes with the prefix of the library 'llhttp'"
refuse_name "test" "is a target name CMake reserves"
refuse_name "example" "clashes with the template module src/example"

echo "# other refusals"
mkdir -p "$work/full-dir"
echo keep >"$work/full-dir/file"
generate --name linkd --out "$work/full-dir"
expect_status "refuses a non-empty --out" 2
expect_stderr "refuses a non-empty --out" "output directory '.*full-dir' is not empty; choose a new directory with --out"
expect_one_line "refuses a non-empty --out"
check "refuses a non-empty --out: leaves its files alone" grep -qx keep "$work/full-dir/file"

echo keep >"$work/a-file"
generate --name linkd --out "$work/a-file"
expect_status "refuses --out naming a file" 2
expect_stderr "refuses --out naming a file" "exists and is not a directory"

generate --name linkd --out "$fixture/inside"
expect_status "refuses --out inside the template" 2
expect_stderr "refuses --out inside the template" "inside the template"

generate --out "$work/no-name"
expect_status "refuses a missing --name without a terminal" 2
expect_stderr "refuses a missing --name without a terminal" "no --name given and stdin is not a terminal"

generate --name linkd --colour blue
expect_status "refuses an unknown option" 2
expect_stderr "refuses an unknown option" "unknown option '--colour'; see scripts/new-service --help"

generate --name
expect_status "refuses --name without a value" 2
expect_stderr "refuses --name without a value" "--name needs a value"

printf 'name=linkd\ncolour=blue\n' >"$work/unknown-key.conf"
generate --config "$work/unknown-key.conf" --out "$work/cfg-unknown"
expect_status "refuses an unknown config key" 2
expect_stderr "refuses an unknown config key" "unknown-key.conf:2: unknown key 'colour'; the keys are name, out and bare"
expect_one_line "refuses an unknown config key"
check_not "refuses an unknown config key: creates nothing" test -e "$work/cfg-unknown"

printf 'name=linkd\nbare=maybe\n' >"$work/bad-bare.conf"
generate --config "$work/bad-bare.conf" --out "$work/cfg-bad-bare"
expect_status "refuses bare=maybe in a config" 2
expect_stderr "refuses bare=maybe in a config" "bad-bare.conf:2: bare must be true or false, not 'maybe'"

printf 'name linkd\n' >"$work/no-equals.conf"
generate --config "$work/no-equals.conf" --out "$work/cfg-no-equals"
expect_status "refuses a config line without =" 2
expect_stderr "refuses a config line without =" "no-equals.conf:1: expected key=value"

generate --config "$work/missing.conf"
expect_status "refuses a missing config file" 2
expect_stderr "refuses a missing config file" "cannot read the config file"

printf 'name=9lives\n' >"$work/bad-name.conf"
generate --config "$work/bad-name.conf" --out "$work/cfg-bad-name"
expect_status "refuses a bad name from a config" 2
expect_stderr "refuses a bad name from a config" "starts with a digit"

echo "# names the generator accepts"
for accepted in a x9 web-api-2 abcdefghijabcdefghijabcdefghijab linkd billing_api; do
    generate --name "$accepted" --out "$work/accepted/$accepted"
    expect_status "accepts --name '$accepted'" 0
done

# ---- the full variant -----------------------------------------------------------

echo "# full variant of the fixture, name link-d"
full="$work/full/link-d"
SOURCE_DATE_EPOCH=0 generate --name link-d --out "$full"
expect_status "generates link-d (full)" 0
check "prints the next steps" sh -c 'printf "%s\n" "$1" | grep -q "make run"' - "$stdout"
no_template_name "full: no hexsvc left in paths or contents" "$full"
check "full: a directory named hexsvc is renamed" test -d "$full/src/link_d"
check "full: a file named hexsvc is renamed" test -f "$full/src/link_d/link_d_config.c"
check "full: a name inside a path is renamed" test -f "$full/docs/link_d-notes/no-final-newline.txt"
check "full: HEXSVC becomes LINK_D in include guards" grep -qx '#ifndef LINK_D_LINK_D_CONFIG_H' "$full/src/link_d/link_d_config.h"
check "full: hexsvc becomes link_d in identifiers" grep -q 'const char \*link_d_config_env_prefix(void)' "$full/src/link_d/link_d_config.h"
check "full: Hexsvc becomes Link_d" grep -q '^/\* Link_d: ' "$full/src/main.c"
check "full: hex-svc becomes link-d" grep -q 'image hex-svc' "$fixture/scripts/run-hexsvc"
check "full: hex-svc becomes link-d" grep -q 'image link-d:latest' "$full/scripts/run-link_d"
check "full: the binary is named link_d" grep -q 'add_executable(link_d ' "$full/CMakeLists.txt"
check "full: the settings prefix is LINK_D_" grep -q 'LINK_D_WORKERS=1' "$full/scripts/run-link_d"
check "full: the executable bit is kept" test -x "$full/scripts/run-link_d"
check "full: a file without a final newline stays byte-exact" sh -c \
    'printf "image: link-d\nbinary: link_d" | cmp -s - "$1"' - "$full/docs/link_d-notes/no-final-newline.txt"
check "full: keeps the example files" test -f "$full/src/example/link.c"
check "full: keeps the lines of example blocks" grep -q 'LINK_D_WITH_EXAMPLE=1' "$full/CMakeLists.txt"
check_not "full: drops the marker lines" grep -rq 'hexkit:' "$full/src" "$full/CMakeLists.txt"
check_not "full: drops the bare-only blocks" grep -q 'LINK_D_BARE' "$full/CMakeLists.txt"
check_not "full: drops the bare-only C lines" grep -q 'printf("bare' "$full/src/main.c"

echo "# .hexkit of the full variant"
record="$full/.hexkit"
check ".hexkit exists" test -f "$record"
check ".hexkit: hexkit_version from VERSION" grep -qx "hexkit_version=$(sed -n 1p "$kit_root/VERSION")" "$record"
check ".hexkit: template_commit is a commit" grep -qE '^template_commit=([0-9a-f]{40}|unknown)$' "$record"
if git -C "$kit_root" rev-parse HEAD >/dev/null 2>&1; then
    check ".hexkit: template_commit is the kit's HEAD" grep -qx "template_commit=$(git -C "$kit_root" rev-parse HEAD)" "$record"
fi
check ".hexkit: template_dirty" grep -qE '^template_dirty=(true|false)$' "$record"
check ".hexkit: name" grep -qx 'name=link-d' "$record"
check ".hexkit: variant" grep -qx 'variant=full' "$record"
check ".hexkit: generated_at honours SOURCE_DATE_EPOCH" grep -qx 'generated_at=1970-01-01T00:00:00Z' "$record"
check ".hexkit: generator_arguments" grep -q '^generator_arguments=--template .* --name link-d --out ' "$record"

echo "# the full variant compiles and runs"
if command -v "$cc" >/dev/null 2>&1; then
    check "full: compiles with -Wall -Wextra -Wpedantic -Werror" "$cc" -std=c17 -Wall -Wextra \
        -Wpedantic -Werror -I "$full/src" -o "$work/full-bin" "$full/src/main.c" \
        "$full/src/link_d/link_d_config.c" "$full/src/example/link.c"
    check "full: runs with the example and the LINK_D_ prefix" sh -c \
        '"$1" | tr "\n" " " | grep -qx "LINK_D_ example: 42 "' - "$work/full-bin"
else
    fail "a C compiler ($cc) to build the fixture" "install gcc or clang, or set CC"
fi

# ---- the bare variant -----------------------------------------------------------

echo "# bare variant of the fixture, name billing_api"
bare="$work/bare"
generate --name billing_api --bare --out "$bare"
expect_status "generates billing_api (bare)" 0
expect_stderr "bare: warns about a manifest entry that matches nothing" \
    "warning: .*example-manifest: entry src/no-such-file.c matches no template file"
no_template_name "bare: no hexsvc left in paths or contents" "$bare"
check_not "bare: drops a manifest directory" test -e "$bare/src/example"
check_not "bare: drops a manifest file" test -e "$bare/tests/test_example.sh"
check "bare: keeps the other files" test -f "$bare/src/billing_api/billing_api_config.c"
check_not "bare: drops the example blocks" grep -q 'WITH_EXAMPLE\|example/link' "$bare/CMakeLists.txt" "$bare/src/main.c"
check "bare: keeps bare-only lines" grep -q '    printf("bare\\n");' "$bare/src/main.c"
check "bare: uncomments an 'uncomment' bare block" grep -qx \
    'target_compile_definitions(billing_api PRIVATE BILLING_API_BARE=1)' "$bare/CMakeLists.txt"
check_not "bare: drops the marker lines" grep -rq 'hexkit:' "$bare/src" "$bare/CMakeLists.txt"
check ".hexkit: variant=bare" grep -qx 'variant=bare' "$bare/.hexkit"
if command -v "$cc" >/dev/null 2>&1; then
    check "bare: compiles with -Werror" "$cc" -std=c17 -Wall -Wextra -Wpedantic -Werror \
        -I "$bare/src" -o "$work/bare-bin" "$bare/src/main.c" "$bare/src/billing_api/billing_api_config.c"
    check "bare: runs without the example" sh -c \
        '"$1" | tr "\n" " " | grep -qx "BILLING_API_ bare "' - "$work/bare-bin"
fi

# ---- copies of the fixture: junk, binaries, template bugs ------------------------

# fixture_copy DIR: a copy of the fixture outside any git checkout.
fixture_copy() {
    mkdir -p "$1" && cp -R "$fixture/." "$1/"
}

echo "# a template outside git: build trees and junk stay behind, binaries are untouched"
plain="$work/plain-template"
fixture_copy "$plain"
mkdir -p "$plain/build/dev" "$plain/src/build-asan"
echo junk >"$plain/build/dev/hexsvc.o"
echo junk >"$plain/src/build-asan/x"
echo junk >"$plain/src/main.c.swp"
echo junk >"$plain/src/coverage.gcda"
printf 'PNG\000\001\002binary\000' >"$plain/docs/logo.bin"
run_generator --template "$plain" --name linkd --out "$work/plain-out"
expect_status "generates from a template outside git" 0
check_not "leaves build/ behind" test -e "$work/plain-out/build"
check_not "leaves build-*/ behind" test -e "$work/plain-out/src/build-asan"
check_not "leaves editor and coverage junk behind" sh -c 'ls "$1"/src/*.swp "$1"/src/*.gcda' - "$work/plain-out"
check "copies a binary file byte for byte" cmp -s "$plain/docs/logo.bin" "$work/plain-out/docs/logo.bin"
check ".hexkit: template_commit=unknown outside git" grep -qx 'template_commit=unknown' "$work/plain-out/.hexkit"

echo "# a template in a git checkout: only what git knows, minus ignored files"
tracked="$work/git-template"
fixture_copy "$tracked"
git -C "$tracked" init -q
printf '*.log\nout/\n' >"$tracked/.gitignore"
echo junk >"$tracked/debug.log"
mkdir -p "$tracked/out" && echo junk >"$tracked/out/x"
run_generator --template "$tracked" --name linkd --out "$work/git-out"
expect_status "generates from a git work tree" 0
check_not "leaves a git-ignored file behind" test -e "$work/git-out/debug.log"
check_not "leaves a git-ignored directory behind" test -e "$work/git-out/out"
check "copies untracked files git does not ignore" test -f "$work/git-out/src/linkd/linkd_config.c"

echo "# a template bug fails the generation and leaves nothing behind"
mixed="$work/mixed-case"
fixture_copy "$mixed"
echo '/* HexSvc is not a spelling the generator knows */' >>"$mixed/src/main.c"
mkdir -p "$work/mixed-parent"
run_generator --template "$mixed" --name linkd --out "$work/mixed-parent/linkd"
expect_status "fails on an unknown spelling of the name" 1
expect_stderr "fails on an unknown spelling of the name" "template bug: src/main.c still holds the template name"
check "leaves nothing behind after a failure" sh -c '[ -z "$(ls -A "$1")" ]' - "$work/mixed-parent"

unbalanced="$work/unbalanced"
fixture_copy "$unbalanced"
printf '/* hexkit:example:begin */\nint x;\n' >>"$unbalanced/src/hexsvc/hexsvc_config.c"
run_generator --template "$unbalanced" --name linkd --out "$work/unbalanced-out"
expect_status "fails on an unbalanced marker" 1
expect_stderr "fails on an unbalanced marker" "src/hexsvc/hexsvc_config.c:7: hexkit:example:begin has no matching end"
check_not "creates no service after a marker error" test -e "$work/unbalanced-out"

nested="$work/nested"
fixture_copy "$nested"
printf '# hexkit:example:begin\n# hexkit:bare:begin\n# hexkit:bare:end\n# hexkit:example:end\n' >>"$nested/CMakeLists.txt"
run_generator --template "$nested" --name linkd --out "$work/nested-out"
expect_status "fails on nested markers" 1
expect_stderr "fails on nested markers" "CMakeLists.txt:14: begin marker inside the hexkit:example block opened on line 13"

# ---- options: empty --out, config file, prompts ------------------------------------

echo "# an empty --out directory is used"
mkdir -p "$work/empty-out"
generate --name linkd --out "$work/empty-out"
expect_status "generates into an existing empty directory" 0
check "generates into an existing empty directory: the files are there" test -f "$work/empty-out/CMakeLists.txt"

echo "# --config"
cat >"$work/service.conf" <<EOF
# A service's answers.
name = "payments"
out=$work/from-config
bare=true
EOF
generate --config "$work/service.conf"
expect_status "generates from a config file" 0
check "config: out= is used" test -f "$work/from-config/CMakeLists.txt"
check "config: name= is used" grep -qx 'name=payments' "$work/from-config/.hexkit"
check "config: bare=true is used" grep -qx 'variant=bare' "$work/from-config/.hexkit"
generate --config "$work/service.conf" --name ledger --out "$work/flags-win"
expect_status "flags and a config file together" 0
check "config: --name wins over name=" grep -qx 'name=ledger' "$work/flags-win/.hexkit"
check "config: bare= still applies" grep -qx 'variant=bare' "$work/flags-win/.hexkit"

echo "# prompts when stdin is a terminal"
if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
    # Answers: the name, the default output directory, no to --bare.
    printf 'orders\n\nn\n' | (cd "$work" && script -qec \
        "'$generator' --template '$fixture' --manifest '$fixture_manifest'" /dev/null) \
        >"$work/prompt.log" 2>&1
    check "prompts: asks for the name with a default" grep -q 'Service name .*\[myservice\]' "$work/prompt.log"
    check "prompts: the default out is ./NAME" test -f "$work/orders/.hexkit"
    check "prompts: the answers are used" grep -qx 'variant=full' "$work/orders/.hexkit"
else
    echo "skip - prompts: script(1) from bsdutils is needed to fake a terminal"
fi

echo "# the tools' own checks"
if command -v shellcheck >/dev/null 2>&1; then
    check "shellcheck -s sh is clean on the generator and its tests" shellcheck -x -s sh \
        "$kit_root/scripts/new-service" "$kit_root"/scripts/lib/*.sh "$kit_root"/tests/kit/*.sh
else
    echo "skip - shellcheck is not installed"
fi
if command -v checkbashisms >/dev/null 2>&1; then
    check "checkbashisms is clean" checkbashisms "$kit_root/scripts/new-service" \
        "$kit_root"/scripts/lib/*.sh "$kit_root"/tests/kit/*.sh
fi
if command -v dash >/dev/null 2>&1; then
    check "runs under dash (help)" dash "$generator" --help
fi

kit_finish
