#!/bin/sh
# test-update.sh: scripts/update-service, scripts/diff-service and the
# scripts/hexkit-update copy in a generated service, on a kit of the test's own:
# a temporary git repository holding the kit's scripts and a small C template,
# with a v1 commit the services are generated from and a v2 commit that
# changes, renames, removes and adds template files. Each service is then
# edited as a user would (a handler, a platform file the template also
# changes, a new file) and updated. Needs sh, coreutils, git 2.38+ and a C
# compiler; takes a few seconds, no network.
#
#   sh tests/kit/test-update.sh

# The sh -c scripts below take their arguments as "$1" on purpose.
# shellcheck disable=SC2016
set -u
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"

work=$(kit_scratch_dir)
trap '[ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$work"' EXIT
# The test's commits must not depend on the machine's git configuration.
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost
export GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@localhost
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global commit.gpgsign false

# ---- the fixture kit, v1 ---------------------------------------------------------

kit="$work/kit"
mkdir -p "$kit/scripts/lib" "$kit/template"
cp "$kit_root/scripts/new-service" "$kit_root/scripts/update-service" \
    "$kit_root/scripts/diff-service" "$kit/scripts/"
cp "$kit_root/scripts/lib/names.sh" "$kit_root/scripts/lib/tree.sh" \
    "$kit_root/scripts/lib/markers.awk" "$kit_root/scripts/lib/reserved-names" "$kit/scripts/lib/"
cp -R "$kit_root/tests/kit/fixtures/template/." "$kit/template/"
grep -v no-such-file "$kit_root/tests/kit/fixtures/example-manifest" >"$kit/scripts/lib/example-manifest"
echo 1.0.0 >"$kit/VERSION"

t="$kit/template"
mkdir -p "$t/src/platform" "$t/src/adapters" "$t/docs"
cat >"$t/build.sh" <<'EOF'
#!/bin/sh
# Builds the fixture service with warnings as errors and runs its tests.
set -eu
cd "$(dirname "$0")"
mkdir -p build
# shellcheck disable=SC2046 # one word per source file
${CC:-cc} -std=c17 -Wall -Wextra -Werror -Isrc -o build/hexsvc $(find src -name '*.c' | sort)
for test_script in tests/*.sh; do sh "$test_script"; done
EOF
chmod +x "$t/build.sh"
cat >"$t/src/main.c" <<'EOF'
/* Hexsvc: the update fixture's composition root. */
#include <stdio.h>

#include "adapters/handler.h"
#include "hexsvc/hexsvc_config.h"
#include "platform/server.h"
/* hexkit:example:begin */
#include "example/link.h"
/* hexkit:example:end */

int main(void)
{
    printf("%s\n", hexsvc_config_env_prefix());
    printf("greeting: %s\n", handler_greeting());
    printf("port: %d\n", server_port());
    printf("timeout: %d\n", server_timeout());
    /* hexkit:example:begin */
    printf("example: %d\n", link_example_answer());
    /* hexkit:example:end */
    return 0;
}
EOF
cat >"$t/src/platform/server.h" <<'EOF'
#ifndef HEXSVC_PLATFORM_SERVER_H
#define HEXSVC_PLATFORM_SERVER_H
int server_port(void);
int server_backlog(void);
int server_workers(void);
int server_timeout(void);
#endif /* HEXSVC_PLATFORM_SERVER_H */
EOF
cat >"$t/src/platform/server.c" <<'EOF'
#include "platform/server.h"

int server_port(void)
{
    return 8080;
}

int server_backlog(void)
{
    return 128;
}

int server_workers(void)
{
    return 1;
}

int server_timeout(void)
{
    return 30;
}
EOF
cat >"$t/src/adapters/handler.h" <<'EOF'
#ifndef HEXSVC_ADAPTERS_HANDLER_H
#define HEXSVC_ADAPTERS_HANDLER_H
const char *handler_greeting(void);
#endif /* HEXSVC_ADAPTERS_HANDLER_H */
EOF
cat >"$t/src/adapters/handler.c" <<'EOF'
#include "adapters/handler.h"

const char *handler_greeting(void)
{
    return "hello";
}
EOF
printf '# Guide\n\nVersion one of the guide.\n' >"$t/docs/guide.md"
printf '# Operations\n\nStart it.\nStop it.\nWatch it.\n' >"$t/docs/old-name.md"
printf '# Obsolete\n\nThis page goes away in v2.\n' >"$t/docs/obsolete.md"

git -C "$kit" init -q
git -C "$kit" add -A
git -C "$kit" commit -q -m v1
v1=$(git -C "$kit" rev-parse HEAD)

# ---- services generated from v1 ------------------------------------------------------

services="$work/services"
mkdir -p "$services"
# generate NAME ARGS...: the fixture kit's generator, as a user runs it.
# shellcheck disable=SC2317 # called through check
generate() {
    generate_name=$1
    shift
    "$kit/scripts/new-service" --name "$generate_name" --out "$services/$generate_name" "$@" \
        </dev/null >"$work/generate-$generate_name.log" 2>&1
}
check "generates linkd from the v1 kit" generate linkd
check "generates billing from the v1 kit" generate billing
check "generates plain (--bare) from the v1 kit" generate plain --bare
a="$services/linkd"
b="$services/billing"
c="$services/plain"
check ".hexkit records the v1 commit" grep -qx "template_commit=$v1" "$a/.hexkit"
check "the service carries scripts/hexkit-update" test -x "$a/scripts/hexkit-update"
check "scripts/hexkit-update is the kit's update-service" cmp "$a/scripts/hexkit-update" "$kit_root/scripts/update-service"
check "the v1 service builds and passes its tests" sh "$a/build.sh"
rm -rf "$a/build"

# commit_all DIR MESSAGE
commit_all() {
    git -C "$1" add -A && git -C "$1" commit -q -m "$2"
}
for service in "$a" "$b"; do
    git -C "$service" init -q
    printf 'build/\n' >"$service/.gitignore"
    commit_all "$service" "generated" || fail "commits the generated $service"
done

# The user's edits. linkd: a handler, the top of a platform file whose bottom
# the template changes, the renamed page, two new files; none conflicts.
sed -i 's/return "hello";/return "hello from linkd";/' "$a/src/adapters/handler.c"
sed -i 's/return 8080;/return 9000;/' "$a/src/platform/server.c"
printf 'Page it.\n' >>"$a/docs/old-name.md"
printf 'int extra_value(void);\nint extra_value(void)\n{\n    return 7;\n}\n' >"$a/src/adapters/extra.c"
mkdir -p "$a/notes"
printf 'user notes\n' >"$a/notes/TODO.md"
commit_all "$a" "user edits" || fail "commits linkd's edits"
user_files_sum=$(cd "$a" && cat src/adapters/extra.c notes/TODO.md | cksum)
# billing: the line the template changes too, and a page the template removes.
sed -i 's/return "hello";/return "hello from billing";/' "$b/src/adapters/handler.c"
sed -i 's/return 30;/return 45;/' "$b/src/platform/server.c"
printf 'Billing still needs this.\n' >>"$b/docs/obsolete.md"
commit_all "$b" "user edits" || fail "commits billing's edits"

# ---- the kit, v2 -------------------------------------------------------------------------

printf '# Guide\n\nVersion two of the guide.\n' >"$t/docs/guide.md"
sed -i 's/return 30;/return 60;/' "$t/src/platform/server.c"
git -C "$kit" mv template/docs/old-name.md template/docs/new-name.md
git -C "$kit" rm -q template/docs/obsolete.md
printf '# Added\n\nNew in v2.\n' >"$t/docs/added.md"
printf '#!/bin/sh\n./build/hexsvc | grep -qx "timeout: 60"\n' >"$t/tests/test_timeout.sh"
echo 1.1.0 >"$kit/VERSION"
git -C "$kit" add -A
git -C "$kit" commit -q -m v2
v2=$(git -C "$kit" rev-parse HEAD)
update="$kit/scripts/update-service"

# run_update ARGS...: a command with stdin from /dev/null, setting $status,
# $stdout and $stderr.
run_update() {
    status=0
    "$@" </dev/null >"$work/out" 2>"$work/err" || status=$?
    stdout=$(cat "$work/out")
    stderr=$(cat "$work/err")
}

# expect_stdout WHAT PATTERN: the last run's stdout matches the extended
# regular expression.
expect_stdout() {
    if printf '%s\n' "$stdout" | grep -qE -- "$2"; then
        pass "$1: says /$2/"
    else
        fail "$1: says /$2/" "stdout was: $stdout
stderr was: $stderr"
    fi
}

# ---- refusals ------------------------------------------------------------------------------

echo "# refusals"
echo "uncommitted" >>"$a/notes/TODO.md"
run_update "$update" --dir "$a"
expect_status "refuses a service with uncommitted changes" 2
expect_stderr "refuses a service with uncommitted changes" "uncommitted changes .*commit or stash them first"
git -C "$a" checkout -q -- notes/TODO.md

mkdir -p "$work/not-a-service"
run_update "$update" --dir "$work/not-a-service"
expect_status "refuses a directory without .hexkit" 2
expect_stderr "refuses a directory without .hexkit" "has no .hexkit record"

run_update "$update" --dir "$a" --to no-such-ref
expect_status "refuses an unknown --to" 2
expect_stderr "refuses an unknown --to" "no commit, tag or branch 'no-such-ref'; check --to"

cp -R "$c" "$work/unknown-commit"
sed -i 's/^template_commit=.*/template_commit=unknown/' "$work/unknown-commit/.hexkit"
run_update "$update" --dir "$work/unknown-commit"
expect_status "refuses template_commit=unknown" 2
expect_stderr "refuses template_commit=unknown" "pass --base REF"

run_update "$update" --dir "$a" --from "$work/not-a-service"
expect_status "refuses --from a directory that is not a git checkout" 2
expect_stderr "refuses --from a directory that is not a git checkout" "not a git checkout"

run_update "$a/scripts/hexkit-update"
expect_status "hexkit-update without --from refuses" 2
expect_stderr "hexkit-update without --from refuses" "no --from given; pass --from the path or git URL"

# ---- dry run and drift ---------------------------------------------------------------------

echo "# --dry-run and diff-service"
record_before=$(cksum <"$a/.hexkit")
run_update "$update" --dir "$a" --dry-run
expect_status "--dry-run" 0
expect_stdout "--dry-run plans" "updated +docs/guide.md"
expect_stdout "--dry-run plans" "merged +src/platform/server.c"
expect_stdout "--dry-run plans" "renamed +docs/old-name.md -> docs/new-name.md"
expect_stdout "--dry-run plans" "removed +docs/obsolete.md"
expect_stdout "--dry-run plans" "added +docs/added.md"
expect_stdout "--dry-run plans" "added +tests/test_timeout.sh"
expect_stdout "--dry-run plans" "0 conflicting"
expect_stdout "--dry-run" "Nothing was changed"
check "--dry-run changes no file" sh -c '[ -z "$(git -C "$1" status --porcelain)" ]' - "$a"
check "--dry-run keeps .hexkit" test "$record_before" = "$(cksum <"$a/.hexkit")"

run_update "$kit/scripts/diff-service" --dir "$a"
expect_status "diff-service" 0
expect_stdout "diff-service shows the handler edit" '^\+    return "hello from linkd";'
expect_stdout "diff-service shows the template's side" '^-    return "hello";'
expect_stdout "diff-service shows the added file" 'service/notes/TODO.md'
run_update "$kit/scripts/diff-service" --dir "$a" --name-status
expect_stdout "diff-service --name-status" '^M	src/adapters/handler.c'
run_update "$kit/scripts/diff-service" --dir "$a" --to "$v2" -- src/platform/server.c
expect_stdout "diff-service --to REF -- PATH: against the new template" '^-    return 60;'
check_not "diff-service --to REF -- PATH: that path only" sh -c 'printf "%s\n" "$1" | grep -q handler' - "$stdout"

# ---- an update without conflicts -----------------------------------------------------------

echo "# linkd: an update without conflicts"
run_update "$update" --dir "$a"
expect_status "updates linkd" 0
expect_stdout "updates linkd" "now follows hexkit 1.1.0"
check "untouched files follow the template" grep -qx 'Version two of the guide.' "$a/docs/guide.md"
check "the handler edit survives" grep -qF 'return "hello from linkd";' "$a/src/adapters/handler.c"
check "the platform file keeps the user's change" grep -qF 'return 9000;' "$a/src/platform/server.c"
check "the platform file takes the template's change" grep -qF 'return 60;' "$a/src/platform/server.c"
check "a renamed file moves, with the user's edit" grep -qx 'Page it.' "$a/docs/new-name.md"
check_not "a renamed file leaves its old path" test -e "$a/docs/old-name.md"
check_not "a removed template file is removed" test -e "$a/docs/obsolete.md"
check "a new template file is added" test -f "$a/docs/added.md"
check "the user's files are untouched" test "$user_files_sum" = "$(cd "$a" && cat src/adapters/extra.c notes/TODO.md | cksum)"
check ".hexkit follows v2" grep -qx "template_commit=$v2" "$a/.hexkit"
check ".hexkit has the new version" grep -qx 'hexkit_version=1.1.0' "$a/.hexkit"
check ".hexkit keeps the answers" grep -qx 'name=linkd' "$a/.hexkit"
check_not "no update is left pending" test -e "$a/.hexkit-update"
check_not "no conflict marker anywhere" grep -rqE '^(<<<<<<<|>>>>>>>) ' "$a/src" "$a/docs"
if sh "$a/build.sh" >"$work/build-a.log" 2>&1; then
    pass "the updated service builds (-Werror) and passes its tests, the template's new one too"
else
    fail "the updated service builds (-Werror) and passes its tests" "$(cat "$work/build-a.log")"
fi
commit_all "$a" "update to v2" || fail "commits the update"
run_update "$update" --dir "$a"
expect_status "a second update" 0
expect_stdout "a second update" "already follows hexkit 1.1.0 .*nothing to do"

# ---- an update with conflicts, from inside the service, from a git URL ----------------------

echo "# billing: conflicts, through scripts/hexkit-update --from a git URL"
run_update "$b/scripts/hexkit-update" --from "file://$kit"
expect_status "updates billing with conflicts" 3
expect_stdout "lists the conflicting platform file" "conflict +src/platform/server.c"
expect_stdout "lists the modify/delete conflict" "conflict +docs/obsolete.md"
expect_stdout "says what to do next" "--continue"
check "the conflict has standard markers" grep -qx '<<<<<<< service' "$b/src/platform/server.c"
check "the conflict shows both sides" sh -c 'grep -qF "return 45;" "$1" && grep -qF "return 60;" "$1" && grep -qx ">>>>>>> template" "$1"' - "$b/src/platform/server.c"
check "the page the template removed but the user changed is kept" grep -qx 'Billing still needs this.' "$b/docs/obsolete.md"
check "the non-conflicting changes are applied" grep -qx 'Version two of the guide.' "$b/docs/guide.md"
check "the handler edit survives a conflicting update" grep -qF 'return "hello from billing";' "$b/src/adapters/handler.c"
check ".hexkit is not updated while conflicts remain" grep -qx "template_commit=$v1" "$b/.hexkit"
check "the pending update is recorded" grep -qx 'conflict=src/platform/server.c' "$b/.hexkit-update"

run_update "$b/scripts/hexkit-update" --from "$kit"
expect_status "refuses a new update while one is pending" 2
expect_stderr "refuses a new update while one is pending" "waiting for its conflicts"
run_update "$b/scripts/hexkit-update" --continue
expect_status "--continue with markers left" 2
expect_stderr "--continue with markers left" "conflict markers are still in: src/platform/server.c"

git -C "$kit" show "$v2:template/src/platform/server.c" >"$b/src/platform/server.c"
git -C "$b" rm -q docs/obsolete.md
run_update "$b/scripts/hexkit-update" --continue
expect_status "--continue once resolved" 0
check "--continue updates .hexkit" grep -qx "template_commit=$v2" "$b/.hexkit"
check_not "--continue removes the pending record" test -e "$b/.hexkit-update"
if sh "$b/build.sh" >"$work/build-b.log" 2>&1; then
    pass "the resolved service builds and passes its tests"
else
    fail "the resolved service builds and passes its tests" "$(cat "$work/build-b.log")"
fi

# ---- a bare service outside git ---------------------------------------------------------------

echo "# plain: --bare, not a git repository"
run_update "$update" --dir "$c"
expect_status "updates a bare service outside git" 0
check "the bare service stays bare" sh -c '! test -e "$1/src/example" && ! grep -q example "$1/src/main.c"' - "$c"
check "the bare service takes the template's change" grep -qF 'return 60;' "$c/src/platform/server.c"
check "the build tree is not touched" sh -c '! test -e "$1/build"' - "$c"
if sh "$c/build.sh" >"$work/build-c.log" 2>&1; then
    pass "the updated bare service builds and passes its tests"
else
    fail "the updated bare service builds and passes its tests" "$(cat "$work/build-c.log")"
fi

echo "# the tools' own checks"
if command -v shellcheck >/dev/null 2>&1; then
    check "shellcheck -s sh is clean on update-service, diff-service and this test" shellcheck -x -s sh \
        "$kit_root/scripts/update-service" "$kit_root/scripts/diff-service" "$kit_root/tests/kit/test-update.sh"
else
    echo "skip - shellcheck is not installed"
fi
if command -v dash >/dev/null 2>&1; then
    check "update-service runs under dash (help)" dash "$kit_root/scripts/update-service" --help
fi

kit_finish
