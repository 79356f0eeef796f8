// Float vectors of VL lanes (clang vector extensions) shared by the kernels of this target, and the
// one exp they all use. VL is 8 unless the including file sets it first (16 in the AVX-512 build of
// attention, Attention512.c). Everything is always inlined into the functions that are compiled per
// instruction set (see BTXKernels.h), so the same source becomes AVX-512, AVX2 + FMA or baseline code.
#ifndef BTX_VECTORS_H
#define BTX_VECTORS_H
#include <math.h>
#include <string.h>

// NOTE: the vector helpers are always inlined, so no vector ever crosses a real call; the warning
// about 32- and 64-byte vectors in the baseline build's calling convention does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__((always_inline))

#ifndef VL
#define VL 8
#endif

typedef float vf __attribute__((vector_size(4 * VL)));
typedef int vfi __attribute__((vector_size(4 * VL)));
/// Eight lanes whatever VL is: for sums whose order must not depend on the build.
typedef float v8 __attribute__((vector_size(32)));

INLINE vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
INLINE void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
INLINE vf splat(float x) {
    vf v;
    for (int i = 0; i < VL; i++) v[i] = x;  // a broadcast (adding x to zeros would turn −0 into +0)
    return v;
}
INLINE vf vselect(vfi mask, vf a, vf b) { return (vf)((mask & (vfi)a) | (~mask & (vfi)b)); }
INLINE vf vmax(vf a, vf b) { return vselect(a > b, a, b); }
INLINE vf vmin(vf a, vf b) { return vselect(a < b, a, b); }
INLINE long lmin(long a, long b) { return a < b ? a : b; }
/// 0, 1, …, VL − 1.
INLINE vfi lanes(void) {
    vfi v;
    for (int i = 0; i < VL; i++) v[i] = i;
    return v;
}

INLINE v8 vload8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
/// Sum of an 8-lane vector's lanes in a fixed order.
INLINE float hsum8(v8 v) { return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])); }

/// exp per lane: Cephes' expf polynomial (as VectorMath.exp in Swift); NaN stays NaN.
INLINE vf vexp(vf v) {
    vf x = vmin(vmax(v, splat(-87.3f)), splat(88.3f));
    vf magic = splat(12582912.0f);  // 1.5·2^23: adding it rounds to an integer in the low bits
    vf t = x * 1.44269504f + magic;
    vf n = t - magic;
    vf r = x - n * 0.693359375f + n * 2.1219444e-4f;
    vf p = splat(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.16657959e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.00000012e-1f;
    vf y = p * r * r + r + 1;
    vfi scale = ((vfi)t - 0x4B400000 + 127) << 23;
    return vselect(v != v, v, y * (vf)scale);
}

/// exp of one value through the same polynomial (so a scalar tail agrees with the vector body).
INLINE float sexp(float x) { return vexp(splat(x))[0]; }

/// 1 / (1 + exp(−x)) per lane.
INLINE vf vsigmoid(vf x) { return 1 / (1 + vexp(-x)); }

/// Defines `NAME_avx2` (built for AVX2 + FMA) and `NAME_generic` (baseline x86-64) around the
/// always-inlined `NAME_body`, with parameter list `params` and argument list `args`.
#define BTX_PER_ISA(name, params, args)                                                        \
    __attribute__((target("avx2,fma"))) static void name##_avx2 params { name##_body args; } \
    static void name##_generic params { name##_body args; }

/// Calls the build of `name` that `isa` (a `BTX_ISA_*`) names; a CPU with AVX-512 runs the AVX2
/// build of kernels that have no AVX-512 one.
#define BTX_CALL_ISA(isa, name, args)                  \
    do {                                               \
        if ((isa) >= BTX_ISA_AVX2_FMA) name##_avx2 args; \
        else name##_generic args;                      \
    } while (0)

#endif
