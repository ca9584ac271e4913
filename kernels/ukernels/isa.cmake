# isa.cmake: optimized micro-kernels per ISA (issue 3), included by kernels/CMakeLists.txt.
#
# STYLE.md: the ISA in a file's name decides its compile flags, and only that file gets them; nothing here sets ISA
# flags globally. A file is compiled when the target's architecture can run it; whether the CPU has the ISA is
# decided at run time (kernels/runtime/cpu.cc), where EB_HAVE_ISA_<ISA> says which paths this build contains.
# Sets EDGEBUILD_ISA_SOURCES and EDGEBUILD_ISA_DEFINITIONS.
set(EDGEBUILD_ISA_SOURCES "")
set(EDGEBUILD_ISA_DEFINITIONS "")
string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _eb_proc)
set(_eb_ukernels ${CMAKE_CURRENT_LIST_DIR})

# Flags per ISA suffix (the part of the file name after "__", up to a variant tag: `__neondot_a55` is neondot).
set(_eb_flags_avx2 -mavx2 -Wno-psabi)  # -Wno-psabi: f32lanes.h keeps its 64-byte vectors inside the file
# GCC 12 warns about its own _mm512_undefined_* helpers inside the intrinsics headers: silenced for these files.
set(_eb_flags_avx512vnni -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -Wno-maybe-uninitialized)
set(_eb_flags_neon "")  # baseline on aarch64; armv7 targets pass -mfpu=neon-vfpv4 already (targets/armv7.toml)
set(_eb_flags_neondot -march=armv8.2-a+dotprod)
set(_eb_flags_i8mm -march=armv8.2-a+dotprod+i8mm)

if(_eb_proc MATCHES "^(x86_64|amd64)$")
  set(_eb_isas avx2 avx512vnni)
elseif(_eb_proc MATCHES "^(aarch64|arm64)$")
  set(_eb_isas neon neondot i8mm)
elseif(_eb_proc MATCHES "^arm")
  set(_eb_isas neon)
else()
  set(_eb_isas "")
endif()

foreach(_isa IN LISTS _eb_isas)
  file(GLOB _files ${_eb_ukernels}/*/*__${_isa}.cc ${_eb_ukernels}/*/*__${_isa}_*.cc)
  list(SORT _files)
  if(NOT _files)
    continue()
  endif()
  foreach(_f IN LISTS _files)
    if(_eb_flags_${_isa})
      set_source_files_properties(${_f} PROPERTIES COMPILE_OPTIONS "${_eb_flags_${_isa}}")
    endif()
  endforeach()
  list(APPEND EDGEBUILD_ISA_SOURCES ${_files})
  if(_isa STREQUAL "avx2" AND EXISTS ${_eb_ukernels}/f32-bmm/f32_bmm__avx2.cc)
    # FMA3 is not part of AVX2: the float matmul core uses it, and cpu.cc picks it only on CPUs that report FMA.
    # A compile flag, not `#pragma GCC target`: clang (the fuzz build) does not apply the pragma to inlined intrinsics.
    set_property(SOURCE ${_eb_ukernels}/f32-bmm/f32_bmm__avx2.cc APPEND PROPERTY COMPILE_OPTIONS -mfma)
  endif()
  string(TOUPPER ${_isa} _upper)
  list(APPEND EDGEBUILD_ISA_DEFINITIONS EB_HAVE_ISA_${_upper}=1)
endforeach()
