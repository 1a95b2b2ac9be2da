/* Runtime choice of the vector paths of the scaling and rotation kernels.
 *
 * The byte shuffles those kernels need (SSSE3 pshufb) and the 256-bit forms (AVX2) are not part of
 * the x86_64 baseline, so their functions are compiled with GCC/Clang target attributes and picked at
 * run time from the CPU's features. Every kernel keeps a portable scalar path that computes the same
 * bytes; ANYSUPPORT_NATIVE_SIMD=scalar|ssse3|avx2 caps the level (the tests of every path use it).
 */
#ifndef ANYSUPPORT_CPU_H
#define ANYSUPPORT_CPU_H

#include <stdlib.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define AS_X86_DISPATCH 1
#include <immintrin.h>
#define AS_TARGET_SSSE3 __attribute__((target("ssse3"), unused))
#define AS_TARGET_AVX2 __attribute__((target("avx2"), unused))
#else
#define AS_X86_DISPATCH 0
#endif

enum { AS_LEVEL_SCALAR = 0, AS_LEVEL_SSSE3 = 1, AS_LEVEL_AVX2 = 2 };

/* The best level this CPU runs, capped by ANYSUPPORT_NATIVE_SIMD. Computed once per extension
 * module (a race between threads stores the same value). */
static int as_cpu_level(void) {
    static int level = -1;
    if (level >= 0) return level;
    int best = AS_LEVEL_SCALAR;
#if AS_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("ssse3")) best = AS_LEVEL_SSSE3;
    if (__builtin_cpu_supports("avx2")) best = AS_LEVEL_AVX2;
#endif
    const char *cap = getenv("ANYSUPPORT_NATIVE_SIMD");
    if (cap != NULL) {
        if (strcmp(cap, "scalar") == 0 && best > AS_LEVEL_SCALAR) best = AS_LEVEL_SCALAR;
        if (strcmp(cap, "ssse3") == 0 && best > AS_LEVEL_SSSE3) best = AS_LEVEL_SSSE3;
    }
    level = best;
    return level;
}

#endif /* ANYSUPPORT_CPU_H */
