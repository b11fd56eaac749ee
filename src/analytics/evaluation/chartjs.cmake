# Included from src/CMakeLists.txt after nfl_analytics exists: compiles Chart.js from
# Debian's libjs-chart.js into the library so report.html opens offline and the
# binary needs no /usr/share at run time. NFL_CHARTJS names the file; Debian 12 ships
# 3.9.1 as chart.min.js / chart.js (both UMD), so those are tried when it is absent.
set(nfl_chartjs_file "")
get_filename_component(nfl_chartjs_dir "${NFL_CHARTJS}" DIRECTORY)
foreach(candidate "${NFL_CHARTJS}" "${nfl_chartjs_dir}/chart.min.js" "${nfl_chartjs_dir}/chart.js")
  if(nfl_chartjs_file STREQUAL "" AND EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
    set(nfl_chartjs_file "${candidate}")
  endif()
endforeach()
if(nfl_chartjs_file STREQUAL "")
  message(WARNING "Chart.js not found at ${NFL_CHARTJS} (install libjs-chart.js): reports will have tables only")
endif()
set(NFL_CHARTJS_GENERATED "${CMAKE_BINARY_DIR}/generated/nfl_chartjs.cpp")
add_custom_command(
  OUTPUT "${NFL_CHARTJS_GENERATED}"
  COMMAND "${CMAKE_COMMAND}" "-DINPUT=${nfl_chartjs_file}" "-DOUTPUT=${NFL_CHARTJS_GENERATED}"
          -P "${CMAKE_CURRENT_LIST_DIR}/embed_chartjs.cmake"
  DEPENDS ${nfl_chartjs_file} "${CMAKE_CURRENT_LIST_DIR}/embed_chartjs.cmake"
  COMMENT "Embedding Chart.js"
  VERBATIM)
target_sources(nfl_analytics PRIVATE "${NFL_CHARTJS_GENERATED}")
