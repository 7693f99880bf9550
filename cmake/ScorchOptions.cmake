# Compiler warnings, sanitizers and the compiler launcher, applied to scorch's own targets
# through the scorch_build_flags interface target (third-party headers stay untouched).
add_library(scorch_build_flags INTERFACE)
target_compile_options(scorch_build_flags INTERFACE -Wall -Wextra -Wno-unused-parameter)
# GCC 12 reports false positives from inlined library code (yaml-cpp's node impl, libstdc++
# char_traits) under -O2/-O3; they are not in scorch's code and cannot be fixed there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(scorch_build_flags INTERFACE -Wno-dangling-pointer -Wno-restrict
                                                   -Wno-stringop-overflow)
endif()
if(SCORCH_WERROR)
  target_compile_options(scorch_build_flags INTERFACE -Werror)
endif()

set(_scorch_sanitizers "")
if(SCORCH_SANITIZE_ADDRESS)
  list(APPEND _scorch_sanitizers address)
endif()
if(SCORCH_SANITIZE_THREAD)
  list(APPEND _scorch_sanitizers thread)
endif()
if(SCORCH_SANITIZE_UB)
  list(APPEND _scorch_sanitizers undefined)
endif()
if(_scorch_sanitizers)
  list(JOIN _scorch_sanitizers "," _scorch_san)
  target_compile_options(scorch_build_flags INTERFACE -fsanitize=${_scorch_san} -fno-omit-frame-pointer)
  target_link_options(scorch_build_flags INTERFACE -fsanitize=${_scorch_san})
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()


# mpirun refuses to run as root without --allow-run-as-root; tests add it when needed.
execute_process(COMMAND id -u OUTPUT_VARIABLE _scorch_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_scorch_uid STREQUAL "0")
  set(SCORCH_RUNNING_AS_ROOT ON)
else()
  set(SCORCH_RUNNING_AS_ROOT OFF)
endif()
