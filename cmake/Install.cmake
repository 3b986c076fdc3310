# What `cmake --install` puts under a prefix, and the Debian package.
#
#   lib/libbregman.so          Bregman::bregman: the DSL, the compiler (breg
#                              dialect, pipelines, CPU JIT, GPU mapping), the
#                              ONNX importer, the model zoo and the Trainer
#   lib/libbregman_runtime.so  Bregman::runtime: buffers, devices, artifacts,
#                              the CPU kernels (OpenBLAS, oneDNN) and the IDX
#                              readers; no MLIR or LLVM
#   lib/bregman/libbregman_cpu_kernels.so  the plugin bregman-run loads
#   bin/bregman, bregman-run, bregman-opt
#   include/bregman/...        the public headers (standard library only)
#   lib/cmake/Bregman/         BregmanConfig.cmake, ...ConfigVersion.cmake and
#                              the exported targets, relative to the prefix
#
# The two libraries are shared and made from the objects of the static
# libraries the tools and tests link: MLIR, LLVM, ONNX, protobuf, fmt, zlib,
# oneDNN and OpenBLAS stay private dependencies (DT_NEEDED, found through the
# RUNPATH), so a user program needs no CMake package of any of them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The runtime directory of LLVM/MLIR 22 (libMLIR.so lives only there).
set(BREG_LLVM_LIBRARY_DIR "${LLVM_LIBRARY_DIR}")

add_library(bregman_runtime_shared SHARED
  $<TARGET_OBJECTS:bregman_runtime_core>
  $<TARGET_OBJECTS:bregman_runtime>
  $<TARGET_OBJECTS:bregman_data>)
# LLVM's libomp before libdnnl, as for the tools (runtime/CMakeLists.txt):
# found first, it takes oneDNN's GOMP_* calls. Without it a user's program
# loaded libgomp through libdnnl, and every product went to OpenBLAS (other
# figures than `bregman train`'s, and slower large products).
# Nothing in it calls libomp itself: kept needed explicitly. (The runtime's
# BREGMAN_DNNL_OPENMP is its folder's; BREG_OPENMP_LIBRARY is cached.)
set(BREG_SHARED_OPENMP)
if(BREG_OPENMP_LIBRARY)
  set(BREG_SHARED_OPENMP "-Wl,--push-state,--no-as-needed"
      ${BREG_OPENMP_LIBRARY} "-Wl,--pop-state")
endif()
target_link_libraries(bregman_runtime_shared PRIVATE
  ${CMAKE_DL_LIBS} ${BLAS_LIBRARIES} ${BREG_SHARED_OPENMP} ${DNNL_LIBRARY}
  ZLIB::ZLIB)
target_include_directories(bregman_runtime_shared INTERFACE
  $<BUILD_INTERFACE:${BREG_SOURCE_DIR}/runtime/include>
  $<BUILD_INTERFACE:${BREG_SOURCE_DIR}/data/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(bregman_runtime_shared INTERFACE cxx_std_17)
# Every symbol resolved at link time: a missing dependency fails here, not in
# a user's program.
target_link_options(bregman_runtime_shared PRIVATE -Wl,-z,defs)
set_target_properties(bregman_runtime_shared PROPERTIES
  OUTPUT_NAME bregman_runtime EXPORT_NAME runtime
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  INSTALL_RPATH "\$ORIGIN")

set(BREG_LIBRARY_OBJECTS)
foreach(part MLIRBreg BregConversion BregTransforms BregGPU BregPipelines BregCpuJit)
  list(APPEND BREG_LIBRARY_OBJECTS $<TARGET_OBJECTS:obj.${part}>)
endforeach()
foreach(part bregman_frontend bregman_onnx bregman_models bregman_train)
  list(APPEND BREG_LIBRARY_OBJECTS $<TARGET_OBJECTS:${part}>)
endforeach()
add_library(bregman_shared SHARED ${BREG_LIBRARY_OBJECTS})
# The objects' generated headers (tablegen) must exist before the parts build.
add_dependencies(bregman_shared bregman_frontend bregman_onnx bregman_models
  bregman_train BregCpuJit)
target_link_libraries(bregman_shared
  PUBLIC bregman_runtime_shared
  PRIVATE MLIR LLVM onnx onnx_proto protobuf::libprotobuf fmt::fmt ZLIB::ZLIB
          PNG::PNG ${CMAKE_DL_LIBS})
target_include_directories(bregman_shared INTERFACE
  $<BUILD_INTERFACE:${BREG_SOURCE_DIR}/frontend/include>
  $<BUILD_INTERFACE:${BREG_SOURCE_DIR}/frontend/onnx/include>
  $<BUILD_INTERFACE:${BREG_SOURCE_DIR}/models/include>
  $<BUILD_INTERFACE:${BREG_SOURCE_DIR}/train/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_options(bregman_shared PRIVATE -Wl,-z,defs)
set_target_properties(bregman_shared PROPERTIES
  OUTPUT_NAME bregman EXPORT_NAME bregman
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  INSTALL_RPATH "\$ORIGIN;${BREG_LLVM_LIBRARY_DIR}")
# Built by `all`, so that a plain build can be installed; the tests do not
# link these (they link the static parts).

# --- The executables and the CPU kernels plugin ---------------------------------
# The tools link the static parts (as the tests do) and libMLIR.so from the
# LLVM directory; bregman-run finds the plugin in ../lib/bregman/ (Artifact.cpp).
set_target_properties(bregman bregman-run bregman-opt PROPERTIES
  INSTALL_RPATH "${BREG_LLVM_LIBRARY_DIR}")
install(TARGETS bregman bregman-run bregman-opt
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bregman)
install(TARGETS bregman_cpu_kernels
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/bregman COMPONENT bregman)

install(TARGETS bregman_shared bregman_runtime_shared EXPORT BregmanTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT bregman
    NAMELINK_COMPONENT bregman)

# --- Public headers: the standard library is all they include ------------------
set(BREG_PUBLIC_HEADER_DIRS)
foreach(dir frontend/include frontend/onnx/include models/include train/include
            data/include runtime/include)
  list(APPEND BREG_PUBLIC_HEADER_DIRS ${BREG_SOURCE_DIR}/${dir})
  install(DIRECTORY ${BREG_SOURCE_DIR}/${dir}/bregman
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT bregman
    FILES_MATCHING PATTERN "*.h" PATTERN "*.def")
endforeach()
include(cmake/Docs.cmake)

# --- The CMake package -----------------------------------------------------------
set(BREG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Bregman)
install(EXPORT BregmanTargets NAMESPACE Bregman:: DESTINATION ${BREG_CMAKE_DIR}
  COMPONENT bregman)
# The build tree is a package too (-DBregman_DIR=build, without installing):
# the same targets, with the source tree's headers.
export(EXPORT BregmanTargets NAMESPACE Bregman::
  FILE ${CMAKE_CURRENT_BINARY_DIR}/BregmanTargets.cmake)
configure_package_config_file(${BREG_SOURCE_DIR}/cmake/BregmanConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/BregmanConfig.cmake
  INSTALL_DESTINATION ${BREG_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same minor matches.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/BregmanConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/BregmanConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/BregmanConfigVersion.cmake
  DESTINATION ${BREG_CMAKE_DIR} COMPONENT bregman)

include(cmake/Package.cmake)
