// Softmax of one row (the cross-entropy's vocabulary row), 8 lanes per step; see CrossEntropy.swift.
#include "BTXKernels.h"
#include "Vectors.h"

INLINE float softmax_body(float *row, long n, long target, float scale) {
    vf vm = splat(-INFINITY);
    long i = 0;
    for (; i + VL <= n; i += VL) vm = vmax(vm, vload(row + i));
    float m = vm[0];
    for (int lane = 1; lane < VL; lane++) m = vm[lane] > m ? vm[lane] : m;
    for (; i < n; i++) m = row[i] > m ? row[i] : m;
    vf acc = splat(0), vmx = splat(m);
    for (i = 0; i + VL <= n; i += VL) {
        vf e = vexp(vload(row + i) - vmx);
        vstore(row + i, e);
        acc += e;
    }
    float sum = hsum8(acc);
    for (; i < n; i++) { row[i] = sexp(row[i] - m); sum += row[i]; }
    const float inv = 1 / sum, target_p = row[target] * inv;
    const vf vinv = splat(inv), vscale = splat(scale);
    for (i = 0; i + VL <= n; i += VL) vstore(row + i, vload(row + i) * vinv * vscale);
    for (; i < n; i++) row[i] = row[i] * inv * scale;
    return target_p;
}

__attribute__((target("avx2,fma"))) static float softmax_avx2(float *row, long n, long target, float scale) {
    return softmax_body(row, n, target, scale);
}

static float softmax_generic(float *row, long n, long target, float scale) { return softmax_body(row, n, target, scale); }

float btx_softmax(float *row, long n, long target, float scale, int isa) {
    return isa >= BTX_ISA_AVX2_FMA ? softmax_avx2(row, n, target, scale) : softmax_generic(row, n, target, scale);
}
