# Helpers that every component's CMakeLists.txt uses.
#
# scorch_add_library(NAME SOURCES... [TORCH] DEPS ...)
#   A static library with scorch's warning flags; TORCH marks a target that includes
#   LibTorch, which then reuses the one precompiled <torch/torch.h> header.
# scorch_add_test(NAME COMPONENT c KIND unit|integration|e2e SOURCES ... DEPS ...
#                 [TORCH] [TIMEOUT s] [MPI_RANKS n] [LABELS extra...])
#   A gtest executable registered as ONE ctest test, labelled with its component and kind.
#   With MPI_RANKS it runs under mpirun --oversubscribe.

# The LibTorch precompiled header: compiled once, reused by every TORCH target.
if(SCORCH_USE_PCH)
  file(WRITE ${CMAKE_BINARY_DIR}/scorch_torch_pch.cc "// precompiled LibTorch header host\n")
  add_library(scorch_torch_pch OBJECT ${CMAKE_BINARY_DIR}/scorch_torch_pch.cc)
  target_link_libraries(scorch_torch_pch PUBLIC torch scorch_build_flags)
  target_precompile_headers(scorch_torch_pch PRIVATE <torch/torch.h>)
endif()

function(_scorch_use_torch target)
  target_link_libraries(${target} PUBLIC torch)
  if(SCORCH_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM scorch_torch_pch)
  endif()
endfunction()

function(scorch_add_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;DEPS;PRIVATE_DEPS;INCLUDES" ${ARGN})
  if(NOT ARG_SOURCES)
    # A component whose implementation has not landed yet: headers only.
    add_library(${name} INTERFACE)
    add_library(scorch::${name} ALIAS ${name})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    target_include_directories(${name} INTERFACE ${ARG_INCLUDES})
    if(ARG_TORCH)
      target_link_libraries(${name} INTERFACE torch)
    endif()
    return()
  endif()
  add_library(${name} STATIC ${ARG_SOURCES})
  add_library(scorch::${name} ALIAS ${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE scorch_build_flags ${ARG_PRIVATE_DEPS})
  target_include_directories(${name} PUBLIC ${ARG_INCLUDES})
  if(ARG_TORCH)
    _scorch_use_torch(${name})
  endif()
endfunction()

function(scorch_add_test name)
  if(NOT SCORCH_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "TORCH" "COMPONENT;KIND;TIMEOUT;MPI_RANKS" "SOURCES;DEPS;LABELS;ARGS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock scorch_build_flags)
  target_compile_definitions(${name} PRIVATE
    SCORCH_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    SCORCH_BINARY_DIR="${CMAKE_BINARY_DIR}")
  if(ARG_TORCH)
    _scorch_use_torch(${name})
  endif()
  if(ARG_MPI_RANKS)
    set(_cmd ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ARG_MPI_RANKS} --oversubscribe)
    if(SCORCH_RUNNING_AS_ROOT)
      list(APPEND _cmd --allow-run-as-root)
    endif()
    add_test(NAME ${name} COMMAND ${_cmd} $<TARGET_FILE:${name}> ${ARG_ARGS})
  else()
    add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  endif()
  set_tests_properties(${name} PROPERTIES
    LABELS "${ARG_COMPONENT};${ARG_KIND};${ARG_LABELS}"
    TIMEOUT ${ARG_TIMEOUT})
endfunction()
