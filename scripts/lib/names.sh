# names.sh: the service name's rules and its spelled forms, for
# scripts/new-service. POSIX sh; sourced, so it defines functions only.
#
# A name is 1..32 characters of a-z 0-9 - _, starts with a letter, ends with a
# letter or digit, and has no two separators in a row. It is written into the
# generated tree in four forms, one per spelling the template uses:
#
#   template   form          linkd      link-d     billing_api
#   hexsvc     identifier    linkd      link_d     billing_api   C, CMake targets, binary, paths
#   HEXSVC     upper         LINKD      LINK_D     BILLING_API   macros, include guards, env vars
#   Hexsvc     capitalised   Linkd      Link_d     Billing_api   prose at the start of a sentence
#   hex-svc    dashed        linkd      link-d     billing-api   DNS-safe: images, k8s, systemd
#
# So the binary and directory names are the name as typed when it has no `-`
# (a `-` cannot appear in a C identifier or a CMake target used as a prefix).

# names_identifier NAME: prints the C identifier form (`-` becomes `_`).
names_identifier() {
    printf '%s\n' "$1" | tr '-' '_'
}

# names_upper NAME: prints the upper-case identifier form.
names_upper() {
    printf '%s\n' "$1" | tr '-' '_' | tr '[:lower:]' '[:upper:]'
}

# names_capitalised NAME: prints the identifier form with its first letter
# upper-cased.
names_capitalised() {
    names_capitalised_ident=$(names_identifier "$1")
    names_capitalised_rest=${names_capitalised_ident#?}
    names_capitalised_first=${names_capitalised_ident%"$names_capitalised_rest"}
    printf '%s%s\n' "$(printf '%s' "$names_capitalised_first" | tr '[:lower:]' '[:upper:]')" \
        "$names_capitalised_rest"
}

# names_dashed NAME: prints the DNS-label form (`_` becomes `-`).
names_dashed() {
    printf '%s\n' "$1" | tr '_' '-'
}

# names_reserved_category NAME RESERVED_FILE: prints the category of NAME in
# the reserved-names file (keyword, libc, thirdparty, cmake, hexkit), or
# nothing when NAME is not listed.
names_reserved_category() {
    awk -v word="$1" '
        /^[ \t]*#/ || NF < 2 { next }
        { for (i = 2; i <= NF; i++) if ($i == word) { print $1; exit } }
    ' "$2"
}

# names_template_module NAME TEMPLATE_DIR: prints the template path of a source
# module (a directory or file stem under src/) called NAME, or nothing. Such a
# name would make the service prefix equal a module prefix (fiber_, link_).
names_template_module() {
    [ -d "$2/src" ] || return 0
    find "$2/src" \( -name "$1" -o -name "$1.c" -o -name "$1.h" \) -print |
        while IFS= read -r names_module_path; do
            printf '%s\n' "${names_module_path#"$2"/}"
            break
        done
}

# names_check NAME RESERVED_FILE TEMPLATE_DIR: returns 0 when NAME is
# acceptable; otherwise prints one line naming the problem and the fix to
# stderr and returns 2 (the generator's exit status for refusals).
names_check() {
    names_check_problem=$(names_problem "$1" "$2" "$3")
    [ -z "$names_check_problem" ] && return 0
    printf 'new-service: %s\n' "$names_check_problem" >&2
    return 2
}

# names_problem NAME RESERVED_FILE TEMPLATE_DIR: prints why NAME is refused
# and what to do instead, or nothing when it is acceptable. The checks run from
# the most basic (empty, characters) to the most specific (collisions), so the
# message names the first thing the user has to change.
names_problem() {
    name=$1
    rule='use 1-32 characters of a-z, 0-9, - and _, starting with a letter, e.g. --name linkd'
    case "$name" in
    '')
        echo "the service name is empty; $rule"; return ;;
    *' '* | *'	'*)
        names_suggestion=$(printf '%s' "$name" | tr ' \t' '--')
        echo "the service name '$name' contains whitespace; use - or _ between words, e.g. '$names_suggestion'"
        return ;;
    *[A-Z]*)
        echo "the service name '$name' contains uppercase letters; use lowercase, e.g. '$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')'"
        return ;;
    [0-9]*)
        echo "the service name '$name' starts with a digit; it must start with a letter, e.g. 'svc$name'"
        return ;;
    [-_]*)
        echo "the service name '$name' starts with '${name%"${name#?}"}'; it must start with a letter; $rule"
        return ;;
    *[!a-z0-9_-]*)
        echo "the service name '$name' contains a character other than a-z, 0-9, - and _; $rule"
        return ;;
    *[-_])
        echo "the service name '$name' ends with a separator; end it with a letter or digit"
        return ;;
    *[-_][-_]*)
        echo "the service name '$name' has two separators in a row; use a single - or _"
        return ;;
    *hexsvc* | *hex-svc* | *hex_svc*)
        echo "the service name '$name' contains the template's own name 'hexsvc', which the generator rewrites; pick another name"
        return ;;
    *_t)
        echo "the service name '$name' ends in _t, which POSIX reserves for type names; pick another name"
        return ;;
    esac
    if [ "${#name}" -gt 32 ]; then
        echo "the service name '$name' is ${#name} characters long; use at most 32"
        return
    fi
    identifier=$(names_identifier "$name")
    suggestion="${identifier}d"
    category=$(names_reserved_category "$identifier" "$2")
    case "$category" in
    '') ;;
    keyword)
        echo "the service name '$name' is a C keyword; pick another name, e.g. '$suggestion'"; return ;;
    libc)
        echo "the service name '$name' clashes with the C library/POSIX name '$identifier'; pick another name, e.g. '$suggestion'"; return ;;
    thirdparty)
        echo "the service name '$name' clashes with the prefix of the library '$identifier' the service links; pick another name, e.g. '$suggestion'"; return ;;
    cmake)
        echo "the service name '$name' is a target name CMake reserves; pick another name, e.g. '$suggestion'"; return ;;
    *)
        echo "the service name '$name' clashes with hexkit's own prefix '$identifier'; pick another name, e.g. '$suggestion'"; return ;;
    esac
    module=$(names_template_module "$identifier" "$3")
    if [ -n "$module" ]; then
        echo "the service name '$name' clashes with the template module $module (prefix ${identifier}_); pick another name, e.g. '$suggestion'"
    fi
}
