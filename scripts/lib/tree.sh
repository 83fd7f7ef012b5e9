# tree.sh: lists the template's files and writes one file of the generated
# tree, for scripts/new-service. POSIX sh; sourced, so it defines functions
# only. Every function returns non-zero on failure and says why on stderr.

# tree_list_files TEMPLATE_DIR: prints the template's files, one relative path
# a line, sorted. In a git checkout (CI, a clone of the kit) these are the
# files git knows about: tracked ones plus new ones that .gitignore does not
# exclude, so build trees and editor junk never reach a generated service.
# Elsewhere (an unpacked tarball) a find with the same exclusions stands in.
tree_list_files() {
    if git -C "$1" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # core.quotePath=false keeps UTF-8 names readable; a name git still
        # quotes (a newline, a tab, a quote) cannot be handled line by line.
        git -C "$1" -c core.quotePath=false ls-files --cached --others --exclude-standard |
            sort -u
        return
    fi
    (cd "$1" && find . \
        \( -name build -o -name 'build-*' -o -name .git -o -name .cache \
           -o -name Testing -o -name node_modules \) -prune \
        -o \( -type f -o -type l \) \
           ! -name '*.gcda' ! -name '*.gcno' ! -name '*.o' ! -name '*.swp' \
           ! -name '*~' ! -name .DS_Store -print) |
        sed 's|^\./||' | sort
}

# tree_manifest_entries MANIFEST: prints the manifest's entries, without
# comments, blank lines and surrounding blanks.
tree_manifest_entries() {
    sed -e 's/#.*$//' -e 's/^[ 	]*//' -e 's/[ 	]*$//' -e '/^$/d' "$1"
}

# tree_entry_matches ENTRY PATH: true when PATH is an entry of the manifest:
# ENTRY itself (shell wildcards allowed, `*` crosses `/`), or a file below
# ENTRY when ENTRY ends in `/`.
tree_entry_matches() {
    case "$1" in
    */)
        # The entry is deliberately unquoted: it is a pattern.
        # shellcheck disable=SC2254
        case "$2" in $1*) return 0 ;; esac ;;
    *)
        # shellcheck disable=SC2254
        case "$2" in $1) return 0 ;; esac ;;
    esac
    return 1
}

# tree_in_manifest PATH ENTRIES_FILE: true when any entry matches PATH.
tree_in_manifest() {
    while IFS= read -r tree_entry; do
        tree_entry_matches "$tree_entry" "$1" && return 0
    done <"$2"
    return 1
}

# tree_unmatched_entries ENTRIES_FILE FILES_FILE: prints the entries that
# match none of the files.
tree_unmatched_entries() {
    while IFS= read -r tree_unmatched_entry; do
        tree_unmatched_found=0
        while IFS= read -r tree_unmatched_path; do
            if tree_entry_matches "$tree_unmatched_entry" "$tree_unmatched_path"; then
                tree_unmatched_found=1
                break
            fi
        done <"$2"
        [ "$tree_unmatched_found" -eq 1 ] || printf '%s\n' "$tree_unmatched_entry"
    done <"$1"
}

# tree_is_binary FILE: true when FILE holds a NUL byte, which no text file the
# template has does (sources, CMake, shell, JSON, Markdown). Binary files are
# copied untouched: a rename inside them could corrupt them.
tree_is_binary() {
    tree_size=$(wc -c <"$1")
    tree_text_size=$(tr -d '\000' <"$1" | wc -c)
    [ "$tree_size" -ne "$tree_text_size" ]
}

# tree_write_file SOURCE DESTINATION VARIANT RELATIVE_PATH MARKERS_AWK SED_SCRIPT SCRATCH:
# writes the generated version of one template file. Text files go through the
# marker filter for VARIANT, then the name rewrite; binary files are copied
# untouched and a symlink is recreated with its target rewritten like a path.
# The destination's directory must exist; the file mode (the executable bit)
# is kept. SCRATCH is a file outside the generated tree the function may
# overwrite. A marker error is reported as PATH:LINE on stderr.
tree_write_file() {
    if [ -L "$1" ]; then
        tree_link_target=$(readlink "$1" | sed -f "$6") || return 1
        ln -s "$tree_link_target" "$2"
        return
    fi
    cp "$1" "$2" || return 1
    tree_is_binary "$1" && return 0
    # Only files with markers go through awk, which would add a final newline
    # to a file without one (a fuzz seed, say); sed leaves the rest byte-exact.
    if grep -qE 'hexkit:(example|bare):(begin|end)' "$1"; then
        awk -v variant="$3" -v path="$4" -f "$5" "$1" >"$7" || return 1
    else
        cp "$1" "$7" || return 1
    fi
    # Writing through the redirection keeps the mode cp gave the file.
    sed -f "$6" "$7" >"$2"
}
