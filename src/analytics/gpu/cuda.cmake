# Optional CUDA kernels for the GPU queues (docs/gpu.md). NFL_CUDA=AUTO builds them
# when nvcc is found, ON requires it, OFF never builds them. Without them everything
# builds and runs on the CPU kernels and `nfl-compute hardware` says "not built".
#
# The CUDA runtime is linked statically (libcudart_static dlopens libcuda.so.1 at the
# first CUDA call), so the binary starts on machines without a driver and only the
# first call answers "no driver".
set(NFL_CUDA "AUTO" CACHE STRING "Build the CUDA kernels: AUTO (when nvcc is found), ON or OFF")
set_property(CACHE NFL_CUDA PROPERTY STRINGS AUTO ON OFF)
# One list: SASS for A100 (sm_80, also runs on sm_86/sm_89 such as an RTX 4090) and
# H100/H200 (sm_90), plus compute_90 PTX for newer cards to JIT. Each entry costs a
# full device compile, so the list stays short.
set(NFL_CUDA_ARCHITECTURES "80-real;90" CACHE STRING "CUDA architectures for the kernels")

set(NFL_CUDA_ENABLED OFF)
if(NOT NFL_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS "/usr/local/cuda/bin/nvcc")
    set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc") # the toolkit's default place, not always on PATH
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(NFL_CUDA_ENABLED ON)
  elseif(NFL_CUDA STREQUAL "ON")
    message(FATAL_ERROR "NFL_CUDA=ON but no CUDA compiler (nvcc) was found; set CMAKE_CUDA_COMPILER or use NFL_CUDA=AUTO")
  endif()
endif()

if(NFL_CUDA_ENABLED)
  set(CMAKE_CUDA_ARCHITECTURES "${NFL_CUDA_ARCHITECTURES}")
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  if(CCACHE_PROGRAM)
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  file(GLOB nfl_cuda_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/analytics/gpu/*.cu")
  add_library(nfl_cuda_kernels STATIC ${nfl_cuda_sources})
  target_include_directories(nfl_cuda_kernels PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  # nfl_settings carries GCC warning flags nvcc does not take; pass them to the host compiler.
  target_compile_options(nfl_cuda_kernels PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wextra>)
  # C++17 for the .cu files and the headers they include: CMake 3.25 has no C++20
  # flag for nvcc (and would take CXX_STANDARD 20 otherwise).
  set_target_properties(nfl_cuda_kernels PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_link_libraries(nfl_cuda_kernels PUBLIC CUDA::cudart_static)
  target_link_libraries(nfl_analytics PUBLIC nfl_cuda_kernels)
  string(REPLACE ";" " " nfl_cuda_arch_text "${NFL_CUDA_ARCHITECTURES}")
  set(nfl_cuda_definitions NFL_HAVE_CUDA=1
    NFL_CUDA_BUILD_INFO="CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${nfl_cuda_arch_text}")
  message(STATUS "CUDA kernels: on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${NFL_CUDA_ARCHITECTURES}, static runtime)")
else()
  set(nfl_cuda_definitions NFL_HAVE_CUDA=0)
  message(STATUS "CUDA kernels: off (NFL_CUDA=${NFL_CUDA}); CPU kernels only")
endif()
# Only the two files that choose between the kernels and their CPU stand-ins see the
# switch: every other object compiles the same with or without CUDA (ccache shares them).
set_property(SOURCE analytics/gpu/device.cpp analytics/gpu/season_draws.cpp
  APPEND PROPERTY COMPILE_DEFINITIONS ${nfl_cuda_definitions})
