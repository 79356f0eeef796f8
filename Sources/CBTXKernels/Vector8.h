// 8-lane float vectors (clang vector extensions) shared by the kernels of this target, and the one
// exp they all use. Everything is always inlined into the functions that are compiled per
// instruction set (see BTXKernels.h), so the same source becomes AVX2 + FMA or baseline code.
#ifndef BTX_VECTOR8_H
#define BTX_VECTOR8_H
#include <math.h>
#include <string.h>

// NOTE: the 8-lane helpers are always inlined, so no vector ever crosses a real call; the warning
// about 32-byte vectors in the baseline build's calling convention does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__((always_inline))

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

INLINE v8 vload(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void vstore(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }
INLINE v8 vselect(v8i mask, v8 a, v8 b) { return (v8)((mask & (v8i)a) | (~mask & (v8i)b)); }
INLINE v8 vmax(v8 a, v8 b) { return vselect(a > b, a, b); }
INLINE v8 vmin(v8 a, v8 b) { return vselect(a < b, a, b); }
INLINE long lmin(long a, long b) { return a < b ? a : b; }
/// Sum of the lanes in a fixed order.
INLINE float hsum(v8 v) { return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])); }

/// exp per lane: Cephes' expf polynomial (as VectorMath.exp in Swift); NaN stays NaN.
INLINE v8 vexp(v8 v) {
    v8 x = vmin(vmax(v, splat(-87.3f)), splat(88.3f));
    v8 magic = splat(12582912.0f);  // 1.5·2^23: adding it rounds to an integer in the low bits
    v8 t = x * 1.44269504f + magic;
    v8 n = t - magic;
    v8 r = x - n * 0.693359375f + n * 2.1219444e-4f;
    v8 p = splat(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.16657959e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.00000012e-1f;
    v8 y = p * r * r + r + 1;
    v8i scale = ((v8i)t - 0x4B400000 + 127) << 23;
    return vselect(v != v, v, y * (v8)scale);
}

/// exp of one value through the same polynomial (so a scalar tail agrees with the vector body).
INLINE float sexp(float x) { return vexp(splat(x))[0]; }

/// 1 / (1 + exp(−x)) per lane.
INLINE v8 vsigmoid(v8 x) { return 1 / (1 + vexp(-x)); }

/// Defines `NAME_avx2` (built for AVX2 + FMA) and `NAME_generic` (baseline x86-64) around the
/// always-inlined `NAME_body`, with parameter list `params` and argument list `args`.
#define BTX_PER_ISA(name, params, args)                                                        \
    __attribute__((target("avx2,fma"))) static void name##_avx2 params { name##_body args; } \
    static void name##_generic params { name##_body args; }

/// Calls the build of `name` that `isa` (a `BTX_ISA_*`) names.
#define BTX_CALL_ISA(isa, name, args)                 \
    do {                                              \
        if ((isa) == BTX_ISA_AVX2_FMA) name##_avx2 args; \
        else name##_generic args;                     \
    } while (0)

#endif
