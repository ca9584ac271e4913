/* empty.c: libedgebuild.so has no sources of its own; it is the whole static runtime (kernels/CMakeLists.txt). */
typedef int eb_package_empty_translation_unit;
