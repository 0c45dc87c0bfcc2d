# Cross-compiling for Windows x86-64 with Debian's mingw-w64 (scripts/windows.sh).
# The -posix compilers bring winpthreads, which the batch workers and SoftHSM2 use.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(QSJWT_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${QSJWT_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${QSJWT_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${QSJWT_MINGW_TRIPLE}-windres)
set(CMAKE_AR ${QSJWT_MINGW_TRIPLE}-gcc-ar-posix)
set(CMAKE_RANLIB ${QSJWT_MINGW_TRIPLE}-gcc-ranlib-posix)
# Libraries and headers only from the mingw sysroot and the dependency prefix
# (CMAKE_FIND_ROOT_PATH, given by the script); programs from the build machine.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${QSJWT_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
