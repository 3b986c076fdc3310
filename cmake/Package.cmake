# `cpack -G DEB` (scripts/package.sh): bregman_<version>_amd64.deb, installing
# under /usr what `cmake --install` installs, plus the examples.
install(DIRECTORY ${BREG_SOURCE_DIR}/examples/
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT bregman
  PATTERN "build*" EXCLUDE)

set(CPACK_PACKAGE_NAME bregman)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "C++ DSL for sparse neural networks trained with Bregman iterations")
set(CPACK_PACKAGE_DESCRIPTION
  "Networks written in C++, trained with LinBreg/AdaBreg (sparse from the\n\
start), compiled through MLIR 22 to CPU (and CUDA) code; ONNX import for\n\
sparse retraining. Ships the bregman, bregman-run and bregman-opt commands,\n\
libbregman and libbregman_runtime with their headers and CMake package\n\
(find_package(Bregman)), and examples in /usr/share/doc/bregman/examples.")
set(CPACK_PACKAGE_CONTACT "bregman developers <bregman@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # bregman_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# dpkg-shlibdeps names the packages of the DT_NEEDED libraries (libMLIR,
# oneDNN, OpenBLAS, ONNX, protobuf, fmt, zlib, libstdc++, and LLVM's
# libomp, which the executables link, and libllvm22); our own libraries are
# in the package, so no Depends is written by hand (scripts/test-examples.sh
# checks that each of these is named, directly or through a named package's
# Depends, and that none is named twice).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
  ${CMAKE_BINARY_DIR}/lib)
# `save` links artifacts with $CC (default cc); building a program against
# the package needs a C++ compiler and CMake; the examples read Fashion-MNIST.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gcc | c-compiler, g++ | c++-compiler, cmake")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "dataset-fashion-mnist")
include(CPack)
