# Interface targets shared by every module, and the helper that registers a module's tests.

add_library(pilot_warnings INTERFACE)
target_compile_options(pilot_warnings INTERFACE -Wall -Wextra -Werror)

# spdlog header-only over fmt header-only: Debian's spdlog targets pull in libfmt.so, which cannot
# be linked statically. Only the logger (pilot/core/log/src/log.cpp) uses spdlog, to keep compile
# times down; pilot/cli/library_versions.cpp reads its version macros.
add_library(pilot_spdlog INTERFACE)
target_compile_definitions(pilot_spdlog INTERFACE SPDLOG_FMT_EXTERNAL SPDLOG_HEADER_ONLY)
target_link_libraries(pilot_spdlog INTERFACE fmt::fmt-header-only Threads::Threads)

# Boost.Process v2 needs two fixes on Debian 12's Boost 1.81: no pidfd_open (old kernels and
# seccomp profiles make every spawn fail) and std::filesystem instead of Boost.Filesystem. The
# pre-includes it then misses are in core/process_v2.hpp.
add_library(pilot_process INTERFACE)
target_compile_definitions(pilot_process INTERFACE BOOST_PROCESS_USE_STD_FS
  BOOST_PROCESS_V2_DISABLE_PIDFD_OPEN BOOST_ASIO_NO_DEPRECATED)
target_link_libraries(pilot_process INTERFACE Boost::headers Threads::Threads)

# pilot_module(NAME SOURCES... [DEPS ...]): a static library with its public headers in include/.
function(pilot_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${M_DEPS} PRIVATE pilot_warnings)
endfunction()

# pilot_runs_pilot(TARGET): TARGET runs the built `pilot` binary (tests/support's run_pilot and
# PilotProcess): it links pilot_runner, may include run_pilot.hpp and pilot_process.hpp (which
# refuse to compile elsewhere), and the binary is built before it, so it never runs a stale one.
function(pilot_runs_pilot target)
  target_link_libraries(${target} PRIVATE pilot_runner)
  target_compile_definitions(${target} PRIVATE PILOT_RUNS_PILOT)
  add_dependencies(${target} pilot)
endfunction()

# pilot_tests(NAME SOURCES... DEPS ... [RUNS_PILOT] [ALSO_DIRAC_V9] [SERIAL] [LABELS ...]): a Catch2 test
# executable whose cases become ctest tests. Tests find the source tree and the build tree through
# compile definitions, so they run the same from ctest and by hand. RUNS_PILOT: the tests run the
# `pilot` binary (pilot_runs_pilot); without it a test executable neither waits for the binary to
# build nor can run it.
function(pilot_tests name)
  # KEEPER: the executable runs payloads, so it is also their keeper (jobwrapper/keeper.hpp):
  # its main is jobwrapper's keeper_test_main instead of Catch2's.
  # SERIAL: never beside another test (a test that starts a heavy daemon, e.g. RabbitMQ, whose
  # time-outs another one's load would eat).
  cmake_parse_arguments(T "ALSO_DIRAC_V9;RUNS_PILOT;KEEPER;SERIAL" "" "SOURCES;DEPS;LABELS" ${ARGN})
  # ctest cuts a test name at ';' and Catch2 reads a leading '-' as an option: such a test would
  # run nothing and still pass.
  foreach(src ${T_SOURCES})
    file(STRINGS ${src} bad REGEX "TEST_CASE\\(\"(-|[^\"]*;)")
    if(bad)
      message(FATAL_ERROR "${src}: a test name with ';' or a leading '-' would never run: ${bad}")
    endif()
  endforeach()
  add_executable(${name} ${T_SOURCES})
  if(T_KEEPER)
    target_link_libraries(${name} PRIVATE ${T_DEPS} pilot_keeper_test_main pilot_warnings)
  else()
    target_link_libraries(${name} PRIVATE ${T_DEPS} Catch2::Catch2WithMain pilot_warnings)
  endif()
  target_compile_definitions(${name} PRIVATE
    PILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    PILOT_BUILD_DIR="${PROJECT_BINARY_DIR}")
  if(T_RUNS_PILOT)
    pilot_runs_pilot(${name})
  endif()
  set(props TIMEOUT 300)
  if(T_SERIAL)
    list(APPEND props RUN_SERIAL TRUE)
  endif()
  if(T_LABELS)
    list(APPEND props LABELS "${T_LABELS}")
  endif()
  # --warn NoTests: a name ctest cut or mangled (the check above sees one line at a time; a name
  # split over two string literals escapes it) matches nothing, and that fails instead of passing.
  catch_discover_tests(${name} TEST_PREFIX "${name}: " EXTRA_ARGS --warn NoTests PROPERTIES ${props})
  # ALSO_DIRAC_V9: every test case once more with the fake server acting as DIRAC v9
  # (fake_server.hpp), labelled `v9` unless already labelled (discovery passes PROPERTIES flat, so
  # a test gets one label; both kinds run in the release build only). Catch's discovery files are
  # keyed by EXTRA_ARGS, hence the run's --name.
  if(T_ALSO_DIRAC_V9)
    set(v9_label v9)
    if(T_LABELS)
      set(v9_label ${T_LABELS})
    endif()
    catch_discover_tests(${name} TEST_PREFIX "${name}/v9: " EXTRA_ARGS --warn NoTests --name "${name} against DIRAC v9"
      PROPERTIES TIMEOUT 300 LABELS ${v9_label} ENVIRONMENT PILOT_FAKE_DIRAC=v9)
  endif()
endfunction()

# pilot_embed_text(OUT_VAR FILE SYMBOL): a generated C++ source defining `const char* const
# SYMBOL` with the contents of FILE (scripts and demo jobs shipped inside the binary).
function(pilot_embed_text out file symbol)
  set(cpp ${CMAKE_CURRENT_BINARY_DIR}/embed_${symbol}.cpp)
  add_custom_command(OUTPUT ${cpp}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${file} -DOUTPUT=${cpp} -DNAME=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedText.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/EmbedText.cmake)
  set(${out} ${cpp} PARENT_SCOPE)
endfunction()
