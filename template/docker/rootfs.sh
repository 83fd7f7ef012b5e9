#!/bin/sh
# rootfs.sh BINARY DIR: lays out in DIR the service binary and the shared
# libraries it needs that a Debian base image lacks (everything ldd resolves
# except libc6's), each with its package's copyright file, plus the data
# directory owned by the image's user. Used by docker/Dockerfile's build stage
# and by scripts/build-image.
#
#   sh docker/rootfs.sh build/release/hexsvc /tmp/rootfs [--with-libc]
#
# --with-libc also copies libc6's libraries and the dynamic loader, for an
# image without any base (scripts/build-image).
set -eu

binary=$1
dest=$2
with_libc=${3:-}
[ -x "$binary" ] || { echo "rootfs.sh: '$binary' is not an executable; build it first" >&2; exit 1; }

mkdir -p "$dest/usr/bin" "$dest/var/lib/hexsvc"
cp "$binary" "$dest/usr/bin/hexsvc"
strip --strip-debug "$dest/usr/bin/hexsvc" 2>/dev/null || true
chmod 0755 "$dest/usr/bin/hexsvc"
# The image's user (65532, distroless's "nonroot") owns only the data dir.
chown 65532:65532 "$dest/var/lib/hexsvc" 2>/dev/null || true
chmod 0700 "$dest/var/lib/hexsvc"
if [ "$with_libc" = --with-libc ]; then
    # No base image: lay out the merged /usr that Debian 12 has.
    mkdir -p "$dest/usr/lib" "$dest/usr/lib64"
    ln -sfn usr/lib "$dest/lib"
    ln -sfn usr/lib64 "$dest/lib64"
fi

# "libuv.so.1 => /lib/x86_64-linux-gnu/libuv.so.1 (0x...)" and the loader's
# own line "/lib64/ld-linux-x86-64.so.2 (0x...)". Files go below /usr (the
# base's /lib is a symlink to usr/lib; copying onto it must not replace it).
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
while read -r lib; do
    real=$(readlink -f "$lib")
    pkg=$(dpkg-query -S "$real" 2>/dev/null || dpkg-query -S "$lib" 2>/dev/null || true)
    pkg=${pkg%%:*}
    if [ "$pkg" = libc6 ] && [ "$with_libc" != --with-libc ]; then
        continue
    fi
    name_dir=$(dirname "$lib")
    case "$name_dir" in /usr/*) ;; *) name_dir=/usr$name_dir ;; esac
    link="$name_dir/$(basename "$lib")"
    mkdir -p "$dest$(dirname "$real")" "$dest$name_dir"
    cp "$real" "$dest$real"
    [ "$link" = "$real" ] || ln -sfn "$real" "$dest$link"
    if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
        mkdir -p "$dest/usr/share/doc/$pkg"
        cp "/usr/share/doc/$pkg/copyright" "$dest/usr/share/doc/$pkg/copyright"
    fi
done
