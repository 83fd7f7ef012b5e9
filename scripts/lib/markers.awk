# markers.awk: keeps or drops the variant-specific blocks of one template file.
#
#   awk -v variant=full|bare -v path=RELATIVE/PATH -f markers.awk FILE
#
# A block is the lines between a begin and an end marker line; a marker sits in
# a comment of whatever syntax the file uses (`/* hexkit:example:begin */`,
# `# hexkit:example:end`), and the whole marker line is always dropped:
#
#   hexkit:example:begin ... hexkit:example:end   the URL-shortener example:
#       kept in the full variant, dropped in the bare one.
#   hexkit:bare:begin ... hexkit:bare:end         lines only the bare variant
#       keeps. With `hexkit:bare:begin uncomment`, the block's lines are
#       comments in the template (`// ` or `# `) and become live lines in the
#       bare variant, so the template itself still compiles as the full service.
#
# Blocks do not nest. An unbalanced or nested marker is a template bug: the
# script prints PATH:LINE and the problem to stderr and exits with status 3.

function fail(message) {
    printf "%s:%d: %s\n", path, NR, message > "/dev/stderr"
    failed = 1
    exit 3
}

# uncomment(line): drops the first `//` or `#` comment leader of a line and one
# space after it, keeping the indentation before it.
function uncomment(line,    indent) {
    if (match(line, /^[ \t]*(\/\/|#) ?/)) {
        indent = line
        sub(/[^ \t].*$/, "", indent)
        sub(/^[ \t]*(\/\/|#) ?/, "", line)
        return indent line
    }
    return line
}

BEGIN {
    if (variant != "full" && variant != "bare") {
        printf "markers.awk: variant must be full or bare, not '%s'\n", variant > "/dev/stderr"
        failed = 1
        exit 3
    }
    block = ""          # "", "example" or "bare": the block being read
    begin_line = 0
}

/hexkit:(example|bare):begin/ {
    if (block != "")
        fail("begin marker inside the hexkit:" block " block opened on line " begin_line "; blocks do not nest")
    block = ($0 ~ /hexkit:example:begin/) ? "example" : "bare"
    uncomment_block = (block == "bare" && $0 ~ /hexkit:bare:begin[ \t]+uncomment/)
    begin_line = NR
    next
}

/hexkit:(example|bare):end/ {
    kind = ($0 ~ /hexkit:example:end/) ? "example" : "bare"
    if (block == "")
        fail("hexkit:" kind ":end without a matching begin")
    if (kind != block)
        fail("hexkit:" kind ":end closes the hexkit:" block ":begin block opened on line " begin_line)
    block = ""
    next
}

block == "" { print; next }
block == "example" { if (variant == "full") print; next }
block == "bare" {
    if (variant == "bare")
        print (uncomment_block ? uncomment($0) : $0)
    next
}

END {
    if (!failed && block != "") {
        printf "%s:%d: hexkit:%s:begin has no matching end\n", path, begin_line, block > "/dev/stderr"
        exit 3
    }
}
