# Run at build time (not configure time) so `scorch version` names the commit actually built.
# Inputs: SRC (version.h.in), DST (output header), SOURCE_DIR, PROJECT_VERSION, BUILD_TYPE.
# Rewrites DST only when its contents change, so an unchanged hash rebuilds nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE SCORCH_GIT_HASH
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT SCORCH_GIT_HASH)
  set(SCORCH_GIT_HASH "unknown")
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no
    WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(dirty)
    set(SCORCH_GIT_HASH "${SCORCH_GIT_HASH}-dirty")
  endif()
endif()
set(CMAKE_BUILD_TYPE ${BUILD_TYPE})
configure_file(${SRC} ${DST}.new @ONLY)
file(COPY_FILE ${DST}.new ${DST} ONLY_IF_DIFFERENT)
file(REMOVE ${DST}.new)
