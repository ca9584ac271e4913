# arm-none-eabi.cmake: bare-metal Cortex-M with Debian's gcc-arm-none-eabi (newlib, no libstdc++).
#
#   cmake -S <project> -B <build> -G Ninja -DCMAKE_TOOLCHAIN_FILE=targets/cmake/arm-none-eabi.cmake \
#         -DEB_MCU_FLAGS="-mcpu=cortex-m4;-mthumb;-mfloat-abi=hard;-mfpu=fpv4-sp-d16"
#
# The core's flags come from the target file (targets/cortex-m*.toml) through EB_MCU_FLAGS, as for the other targets
# (flags belong in the target file, docs/adding-a-target.md). No OS: CMake's compiler checks build a static library
# instead of linking an executable (which would need our startup code and a linker script).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EB_MCU_FLAGS)
if(DEFINED EB_MCU_FLAGS)
  list(JOIN EB_MCU_FLAGS " " _eb_mcu_flags)
  set(CMAKE_C_FLAGS_INIT "${_eb_mcu_flags}")
  set(CMAKE_CXX_FLAGS_INIT "${_eb_mcu_flags}")
  set(CMAKE_ASM_FLAGS_INIT "${_eb_mcu_flags}")
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${_eb_mcu_flags}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
