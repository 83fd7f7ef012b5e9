# Cross-compile for aarch64 with Debian's cross toolchain and arm64 multiarch
# libraries (scripts/setup --all installs gcc-aarch64-linux-gnu, qemu-user and
# libuv1-dev:arm64, libcmocka-dev:arm64, libsqlite3-dev:arm64):
#
#   cmake --preset dev -B build/aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
#   ctest --test-dir build/aarch64 -L unit    # runs each test under qemu-aarch64
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Multiarch: headers are shared in /usr/include, libraries and .pc files live
# in the arm64 directories; never pick up an x86_64 library.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu / )
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)

# ctest runs every test binary under qemu-user. The prefix is / so the loader
# and libc are the multiarch libc6:arm64 the other arm64 libraries were built
# against: with -L /usr/aarch64-linux-gnu the cross toolchain's older ld.so
# loads the newer multiarch libc.so.6 and the first pthread_create hangs.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
