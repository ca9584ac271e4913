# arm-linux-musleabihf.cmake: Debian's armv7 hard-float cross compiler linking against musl instead of glibc, for
# small static runners (`edgebuild build --lean`, docs/footprint.md). Needs Debian's musl-dev:armhf (multiarch:
# dpkg --add-architecture armhf && apt-get update && apt-get install musl-dev:armhf), whose specs file swaps glibc's
# headers, start files and libc for musl's and keeps GCC's own headers (arm_neon.h) and libgcc.
include(${CMAKE_CURRENT_LIST_DIR}/arm-linux-gnueabihf.cmake)
set(EDGEBUILD_MUSL_SPECS /usr/lib/arm-linux-musleabihf/musl-gcc.specs)
if(NOT EXISTS ${EDGEBUILD_MUSL_SPECS})
  message(FATAL_ERROR "${EDGEBUILD_MUSL_SPECS} not found: install Debian's musl-dev:armhf (docs/footprint.md)")
endif()
# As options, not CMAKE_<LANG>_FLAGS_INIT (which a -DCMAKE_C_FLAGS replaces); this file is included again in every
# try_compile project, so CMake's own checks (threads) see musl too. -static-libstdc++: g++ links libstdc++, whose
# shared copy needs glibc; from the archive nothing is taken (the runtime uses no libstdc++ member).
add_compile_options(-specs=${EDGEBUILD_MUSL_SPECS})
add_link_options(-specs=${EDGEBUILD_MUSL_SPECS} -static-libstdc++)
set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-linux-musleabihf)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm)
