# aarch64-linux-musl.cmake: Debian's aarch64 cross compiler linking against musl instead of glibc, for small static
# runners (`edgebuild build --lean`, docs/footprint.md). Needs Debian's musl-dev:arm64 (multiarch:
# dpkg --add-architecture arm64 && apt-get update && apt-get install musl-dev:arm64), which ships the specs file
# below: it swaps glibc's headers, start files and libc for musl's (-nostdinc/-nostdlib, /usr/include/aarch64-linux-musl,
# /usr/lib/aarch64-linux-musl) and keeps GCC's own headers (arm_neon.h, stdint.h's builtins) and libgcc.
# The runtime includes only C headers (no libstdc++ header or member), so g++ works unchanged.
include(${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake)
set(EDGEBUILD_MUSL_SPECS /usr/lib/aarch64-linux-musl/musl-gcc.specs)
if(NOT EXISTS ${EDGEBUILD_MUSL_SPECS})
  message(FATAL_ERROR "${EDGEBUILD_MUSL_SPECS} not found: install Debian's musl-dev:arm64 (docs/footprint.md)")
endif()
# Compile and link options rather than CMAKE_<LANG>_FLAGS_INIT, which a -DCMAKE_C_FLAGS on the command line replaces;
# this file is included again in every try_compile project, so CMake's own checks (threads) also see musl.
# -mno-outline-atomics: GCC's default outline atomics call libgcc's lse-init, which needs __getauxval, a symbol musl's
# libc.a has but its libc.so does not export (libedgebuild.so would not link); inline atomics need nothing.
add_compile_options(-specs=${EDGEBUILD_MUSL_SPECS} -mno-outline-atomics)
# -static-libstdc++: g++ links libstdc++, whose shared copy is glibc's; the archive adds nothing (no member is used).
add_link_options(-specs=${EDGEBUILD_MUSL_SPECS} -static-libstdc++)
set(CMAKE_FIND_ROOT_PATH /usr/lib/aarch64-linux-musl)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
