# Shared compile settings as an INTERFACE target, never via global CMAKE_CXX_FLAGS.
add_library(nfl_settings INTERFACE)
target_compile_options(nfl_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual)
option(NFL_WERROR "Treat warnings as errors" OFF)
if(NFL_WERROR)
  target_compile_options(nfl_settings INTERFACE -Werror)
endif()

set(NFL_SANITIZE "" CACHE STRING "Sanitizers to enable, e.g. address,undefined or thread")
if(NFL_SANITIZE)
  # -fno-sanitize-recover: a UBSan finding ends the test with a failure instead of a line in the log.
  target_compile_options(nfl_settings INTERFACE -fsanitize=${NFL_SANITIZE} -fno-sanitize-recover=all
                                                -fno-omit-frame-pointer)
  target_link_options(nfl_settings INTERFACE -fsanitize=${NFL_SANITIZE} -fno-sanitize-recover=all)
endif()
