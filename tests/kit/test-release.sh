#!/bin/sh
# test-release.sh: scripts/release end to end on a freshly generated service.
# Refusals (dirty tree, no tag), --dry-run, then a real signed release that
# is built twice from two paths with two umasks and time zones and must come
# out byte for byte the same; then what the artifacts hold: --version with
# version, commit and build date, the .deb's files and dependencies, the SBOM's
# libraries with their dpkg versions, and the signature check (which must
# also catch a tampered file).
#
#   sh tests/kit/test-release.sh        (needs scripts/setup --all)
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh
. "$kit_test_dir/lib.sh"

for tool in minisign diffoscope dpkg-deb jq git cmake; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        fail "release tools installed" "$tool not found; run scripts/setup --all"
        kit_finish
    fi
done

scratch=$(kit_scratch_dir)
svc="$scratch/svc"
[ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || trap 'rm -rf "$scratch"' EXIT

run_generator --name relsvc --out "$svc"
expect_status "generate a service to release" 0

# git with a fixed identity; the commit date becomes SOURCE_DATE_EPOCH.
g() {
    git -C "$svc" -c user.name=hexkit-test -c user.email=test@example.invalid \
        -c commit.gpgsign=false -c tag.gpgsign=false "$@"
}
release() {
    release_out=$(cd "$svc" && bash scripts/release "$@" 2>&1)
}

g init -q
g add -A
GIT_COMMITTER_DATE="2024-05-01T12:00:00Z" GIT_AUTHOR_DATE="2024-05-01T12:00:00Z" \
    g commit -q -m "Generated"

# --- refusals ---------------------------------------------------------------
if release --dry-run; then
    fail "an untagged HEAD is refused" "release succeeded: $release_out"
else
    case "$release_out" in
    *"HEAD has no tag"*"git tag -a v0.1.0"*) pass "an untagged HEAD is refused, naming the tag to create" ;;
    *) fail "an untagged HEAD is refused, naming the tag to create" "$release_out" ;;
    esac
fi

g tag -a v0.1.0 -m "relsvc 0.1.0"
printf '\n# local change\n' >>"$svc/CMakeLists.txt"
if release --dry-run; then
    fail "a dirty tree is refused" "release succeeded: $release_out"
else
    case "$release_out" in
    *"uncommitted changes"*CMakeLists.txt*) pass "a dirty tree is refused, naming the changed file" ;;
    *) fail "a dirty tree is refused, naming the changed file" "$release_out" ;;
    esac
fi
g checkout -q -- CMakeLists.txt

if release --dry-run && printf '%s\n' "$release_out" | grep -q 'relsvc-0.1.0-src.tar.gz' &&
    printf '%s\n' "$release_out" | grep -q 'relsvc_0.1.0_amd64.deb' &&
    printf '%s\n' "$release_out" | grep -q 'SHA256SUMS.minisig' && [ ! -e "$svc/build/dist" ]; then
    pass "--dry-run lists the artifacts and builds nothing"
else
    fail "--dry-run lists the artifacts and builds nothing" "$release_out"
fi

if release --no-such-option; then
    fail "an unknown option is refused" "$release_out"
else
    pass "an unknown option is refused"
fi

# --- the release, built twice -----------------------------------------------
minisign -G -W -p "$scratch/release.pub" -s "$scratch/release.key" >/dev/null 2>&1
dist="$svc/build/dist"
if release --key "$scratch/release.key" --check-reproducible; then
    pass "release --check-reproducible: two builds, identical hashes"
else
    fail "release --check-reproducible: two builds, identical hashes" "$release_out"
    kit_finish
fi
printf '%s\n' "$release_out" | sed -n '/reproducible:/,/^release: done/p' | sed 's/^/    /'

check "SHA256SUMS lists every artifact" \
    sh -c "cd '$dist' && ls relsvc* | sort >'$scratch/files' && cut -d' ' -f3 SHA256SUMS | sort | diff - '$scratch/files'"
check "the signature and checksums verify" \
    sh -c "cd '$svc' && bash scripts/release --verify '$dist' --pubkey '$scratch/release.pub'"
cp -r "$dist" "$scratch/tampered"
printf 'x' >>"$scratch/tampered/relsvc-0.1.0-linux-amd64.cdx.json"
check_not "a tampered artifact fails verification" \
    sh -c "cd '$svc' && bash scripts/release --verify '$scratch/tampered' --pubkey '$scratch/release.pub'"
check_not "a signature from another key fails verification" \
    sh -c "minisign -G -W -p '$scratch/other.pub' -s '$scratch/other.key' >/dev/null 2>&1 &&
           cd '$svc' && bash scripts/release --verify '$dist' --pubkey '$scratch/other.pub'"

# --- what the artifacts hold ------------------------------------------------
commit=$(g rev-parse HEAD)
mkdir -p "$scratch/unpacked"
tar -xzf "$dist/relsvc-0.1.0-linux-amd64.tar.gz" -C "$scratch/unpacked"
version_line=$("$scratch/unpacked/relsvc-0.1.0-linux-amd64/relsvc" --version 2>&1)
if [ "$version_line" = "relsvc 0.1.0 (commit $commit, built 2024-05-01T12:00:00Z)" ]; then
    pass "--version shows version, commit and the commit's date: $version_line"
else
    fail "--version shows version, commit and the commit's date" "got: $version_line"
fi
if tar -tvzf "$dist/relsvc-0.1.0-src.tar.gz" | awk '$2 != "0/0" { bad = 1 } END { exit bad }' &&
    tar -tzf "$dist/relsvc-0.1.0-src.tar.gz" | grep -qx 'relsvc-0.1.0/scripts/release'; then
    pass "the source tarball holds the tree under relsvc-0.1.0/, owned by 0/0"
else
    fail "the source tarball holds the tree under relsvc-0.1.0/, owned by 0/0" \
        "$(tar -tvzf "$dist/relsvc-0.1.0-src.tar.gz" | sed -n 1,5p)"
fi

deb_files=$(dpkg-deb -c "$dist/relsvc_0.1.0_amd64.deb" | awk '{ print $6 }')
deb_depends=$(dpkg-deb -f "$dist/relsvc_0.1.0_amd64.deb" Depends)
case "$deb_files" in
*./usr/bin/relsvc*./lib/systemd/system/relsvc.service* | *./etc/default/relsvc*./lib/systemd/system/relsvc.service*./usr/bin/relsvc*)
    pass "the .deb installs the binary, the systemd unit and /etc/default/relsvc" ;;
*) fail "the .deb installs the binary, the systemd unit and /etc/default/relsvc" "$deb_files" ;;
esac
case "$deb_depends" in
*libuv1*libc6* | *libc6*libuv1*) pass "the .deb depends on the linked libraries: $deb_depends" ;;
*) fail "the .deb depends on the linked libraries" "Depends: $deb_depends" ;;
esac
check "the systemd unit is sandboxed (DynamicUser, ProtectSystem=strict)" \
    sh -c "dpkg-deb --fsys-tarfile '$dist/relsvc_0.1.0_amd64.deb' | tar -xOf - ./lib/systemd/system/relsvc.service |
           grep -q '^DynamicUser=yes' && dpkg-deb --fsys-tarfile '$dist/relsvc_0.1.0_amd64.deb' |
           tar -xOf - ./lib/systemd/system/relsvc.service | grep -q '^ProtectSystem=strict'"

# The packaged unit is hardening/systemd/hexsvc.service with the package's
# paths; one sandbox policy, not two.
hardened="$kit_root/hardening/systemd/hexsvc.service"
if [ -f "$hardened" ]; then
    expected=$(sed -n '/^\[Unit\]/,$p' "$hardened" | sed -e '/^Documentation=/d' \
        -e 's|^ExecStart=/usr/local/bin/hexsvc$|ExecStart=/usr/bin/hexsvc|' \
        -e 's|^EnvironmentFile=-/etc/hexsvc/env$|EnvironmentFile=-/etc/default/hexsvc|' |
        sed 's/hexsvc/relsvc/g; s/HEXSVC/RELSVC/g')
    actual=$(sed -n '/^\[Unit\]/,$p' "$svc/packaging/relsvc.service")
    if [ "$expected" = "$actual" ]; then
        pass "the packaged unit is hardening/systemd's with the package's paths"
    else
        fail "the packaged unit is hardening/systemd's with the package's paths" \
            "regenerate template/packaging/hexsvc.service (docs/release.md): $(printf '%s\n' "$expected" >"$scratch/expected.unit"
            printf '%s\n' "$actual" | diff "$scratch/expected.unit" - | head -20)"
    fi
fi

sbom="$dist/relsvc-0.1.0-linux-amd64.cdx.json"
libuv_version=$(dpkg-query -W -f='${Version}' libuv1:amd64)
if jq -e --arg v "$libuv_version" '.bomFormat == "CycloneDX" and .metadata.component.name == "relsvc"
        and ([.components[] | select(.name == "libuv1" and .version == $v)] | length == 1)
        and ([.components[] | select(.name == "libc6")] | length == 1)' "$sbom" >/dev/null; then
    pass "the SBOM lists libuv1 $libuv_version and libc6 with their dpkg versions"
else
    fail "the SBOM lists libuv1 $libuv_version and libc6 with their dpkg versions" "$(cat "$sbom")"
fi

if [ -f "$dist/relsvc-0.1.0-linux-arm64.tar.gz" ]; then
    tar -xzf "$dist/relsvc-0.1.0-linux-arm64.tar.gz" -C "$scratch/unpacked"
    check "the arm64 binary is an AArch64 executable" \
        sh -c "readelf -h '$scratch/unpacked/relsvc-0.1.0-linux-arm64/relsvc' | grep -q 'Machine:.*AArch64'"
else
    printf 'ok - # SKIP linux-arm64: no aarch64 cross toolchain and arm64 libuv (scripts/setup --all)\n'
fi

check "the kit's scripts/release delegates to the template's" \
    sh -c "'$kit_root/scripts/release' --help | grep -q 'reproducible release of hexsvc'"

kit_finish
