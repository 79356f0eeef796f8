// Blocked, causal, fused attention (FlashAttention-2, Dao 2023, Algorithms 1 and 2) for the CPU.
//
// Per (batch, head) the forward pass walks query blocks of BR rows against key blocks of BC keys:
// S = Q·Kᵀ for one block pair only, an online softmax (running row max and sum, the output rescaled
// when the max grows), O += P·V; the log-sum-exp of each row is kept for the backward pass, so no
// T × T matrix ever exists. The backward pass, per (batch, kv head), walks key blocks outermost (dK
// and dV of a block stay in scratch while every head of the group and every query block that sees
// it adds into them), recomputes P from the kept log-sum-exp, and adds dQ into its output rows.
//
// Every product is the one small register-tiled kernel `gemm` below: 4 rows × 16 columns of C in
// eight 8-lane accumulators, A read through any two strides (so Aᵀ costs nothing), B's rows
// contiguous (K and V blocks are packed transposed once per block where a product needs Kᵀ or Vᵀ).
//
// The bodies are written once on 8-lane vector types and compiled twice: inside functions built
// for AVX2 + FMA, and for baseline x86-64 (two SSE registers per vector). Each work item runs on
// one thread in a fixed order, so results do not depend on the thread count.
#include "BTXKernels.h"
#include <math.h>
#include <string.h>

// NOTE: the 8-lane helpers are always inlined, so no vector ever crosses a real call; the warning
// about 32-byte vectors in the baseline build's calling convention does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__((always_inline))
#define BR 32  // query rows per block
#define BC 64  // keys per block (a multiple of 16)

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

INLINE v8 vload(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void vstore(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }
INLINE v8 vselect(v8i mask, v8 a, v8 b) { return (v8)((mask & (v8i)a) | (~mask & (v8i)b)); }
INLINE v8 vmax(v8 a, v8 b) { return vselect(a > b, a, b); }
INLINE v8 vmin(v8 a, v8 b) { return vselect(a < b, a, b); }
INLINE long lmin(long a, long b) { return a < b ? a : b; }
INLINE long lmax(long a, long b) { return a > b ? a : b; }
/// Lanes `j0 + lane < n` set.
INLINE v8i below(long j0, long n) {
    v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
    return lane + (int)j0 < (int)n;
}
/// Sum of the lanes in a fixed order.
INLINE float hsum(v8 v) { return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])); }
INLINE float hmax(v8 v) {
    float m = v[0];
    for (int i = 1; i < 8; i++) m = v[i] > m ? v[i] : m;
    return m;
}

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

INLINE float sexp(float x) { return vexp(splat(x))[0]; }

/// C[mr × 8·nv] (+)= A·B for one tile: A(i, p) = a[i·ars + p·acs], B(p, ·) = b + p·ldb.
INLINE void tile(int mr, int nv, long k, const float *a, long ars, long acs, const float *b, long ldb,
                 float *c, long ldc, int accumulate) {
    v8 r[4][2];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nv; j++) r[i][j] = accumulate ? vload(c + i * ldc + 8 * j) : splat(0);
    for (long p = 0; p < k; p++) {
        const float *bp = b + p * ldb;
        v8 b0 = vload(bp), b1 = nv > 1 ? vload(bp + 8) : splat(0);
        for (int i = 0; i < mr; i++) {
            v8 ai = splat(a[i * ars + p * acs]);
            r[i][0] += ai * b0;
            if (nv > 1) r[i][1] += ai * b1;
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nv; j++) vstore(c + i * ldc + 8 * j, r[i][j]);
}

/// `tile` with `mr` a compile-time constant in each branch (so its loops unroll into registers).
INLINE void tile_rows(int mr, int nv, long k, const float *a, long ars, long acs, const float *b, long ldb,
                      float *c, long ldc, int accumulate) {
    switch (mr) {
    case 4: tile(4, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    case 3: tile(3, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    case 2: tile(2, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    default: tile(1, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    }
}

/// C[m × n] (+)= A[m × k]·B[k × n] with A(i, p) = a[i·ars + p·acs], B row p at b + p·ldb (contiguous),
/// C row i at c + i·ldc; columns past the last multiple of 8 in plain scalar code.
INLINE void gemm(long m, long n, long k, const float *a, long ars, long acs, const float *b, long ldb,
                 float *c, long ldc, int accumulate) {
    long n16 = n & ~15L, n8 = n & ~7L;
    for (long i0 = 0; i0 < m; i0 += 4) {
        int mr = (int)lmin(4, m - i0);
        const float *ai = a + i0 * ars;
        float *ci = c + i0 * ldc;
        long j = 0;
        for (; j < n16; j += 16) tile_rows(mr, 2, k, ai, ars, acs, b + j, ldb, ci + j, ldc, accumulate);
        if (j < n8) { tile_rows(mr, 1, k, ai, ars, acs, b + j, ldb, ci + j, ldc, accumulate); j += 8; }
        for (; j < n; j++)
            for (int i = 0; i < mr; i++) {
                float sum = accumulate ? ci[i * ldc + j] : 0;
                for (long p = 0; p < k; p++) sum += ai[i * ars + p * acs] * b[p * ldb + j];
                ci[i * ldc + j] = sum;
            }
    }
}

/// dst[d·BC + j] = src[j·stride + d] for j < cols, zero for cols ≤ j < colsPadded.
INLINE void pack_transposed(float *dst, const float *src, long cols, long colsPadded, long stride, long D) {
    for (long j = 0; j < cols; j++)
        for (long d = 0; d < D; d++) dst[d * BC + j] = src[j * stride + d];
    for (long d = 0; d < D; d++)
        for (long j = cols; j < colsPadded; j++) dst[d * BC + j] = 0;
}

/// dst[j·stride + d] = src[j·D + d]: a dense block of rows back into one head's strided rows.
INLINE void store_rows(float *dst, const float *src, long rows, long stride, long D) {
    for (long j = 0; j < rows; j++) memcpy(dst + j * stride, src + j * D, (size_t)D * sizeof(float));
}

/// One row of the online softmax over a key block: `row[0..<valid]` holds raw scores Q·Kᵀ. Updates the
/// running max `m` and sum `l` of the scaled scores, rescales the row's output accumulator `o[D]`
/// when the max grows, and leaves exp(scale·s − m) in `row` (zero from `valid` to `colsPadded`).
INLINE void online_softmax_row(float *row, long valid, long colsPadded, float scale, float *m, float *l,
                               float *o, long D) {
    v8 vm = splat(-INFINITY);
    for (long j = 0; j < valid; j += 8) vm = vmax(vm, vselect(below(j, valid), vload(row + j), splat(-INFINITY)));
    float mnew = fmaxf(*m, hmax(vm) * scale), alpha = sexp(*m - mnew);
    v8 sum = splat(0), vs = splat(scale), vmn = splat(mnew);
    for (long j = 0; j < colsPadded; j += 8) {
        v8 p = vselect(below(j, valid), vexp(vload(row + j) * vs - vmn), splat(0));
        vstore(row + j, p);
        sum += p;
    }
    *l = *l * alpha + hsum(sum);
    if (alpha != 1)
        for (long d = 0; d < D; d++) o[d] *= alpha;
    *m = mnew;
}

INLINE void forward_body(const btx_attention_shape *s, float *out, float *lse, const float *q, const float *k,
                         const float *v, long b, long h, float *scratch) {
    const long D = s->D, Tq = s->Tq, Tk = s->Tk, offset = Tk - Tq, g = h / (s->H / s->KVH);
    const long qs = s->qStride, ks = s->kvStride, os = s->outStride;
    const float *qh = q + b * Tq * qs + h * D, *kg = k + b * Tk * ks + g * D, *vg = v + b * Tk * ks + g * D;
    float *oh = out + b * Tq * os + h * D, *lh = lse ? lse + (b * s->H + h) * Tq : NULL;
    float *kt = scratch, *sc = kt + D * BC, *acc = sc + BR * BC, *m = acc + BR * D, *l = m + BR;
    for (long r0 = 0; r0 < Tq; r0 += BR) {
        const long rows = lmin(BR, Tq - r0), keys = offset + r0 + rows;  // keys the block's last row sees
        for (long i = 0; i < rows; i++) { m[i] = -INFINITY; l[i] = 0; }
        memset(acc, 0, (size_t)(rows * D) * sizeof(float));
        for (long c0 = 0; c0 < keys; c0 += BC) {
            const long cols = lmin(BC, keys - c0), padded = (cols + 7) & ~7L;
            pack_transposed(kt, kg + c0 * ks, cols, padded, ks, D);
            gemm(rows, padded, D, qh + r0 * qs, qs, 1, kt, BC, sc, BC, 0);  // S = Q·Kᵀ (unscaled)
            for (long i = 0; i < rows; i++) {
                // A row before the block's first key sees none of it (only with BR < BC).
                const long valid = lmin(cols, offset + r0 + i - c0 + 1);
                if (valid <= 0) { memset(sc + i * BC, 0, (size_t)padded * sizeof(float)); continue; }
                online_softmax_row(sc + i * BC, valid, padded, s->scale, m + i, l + i, acc + i * D, D);
            }
            gemm(rows, D, cols, sc, BC, 1, vg + c0 * ks, ks, acc, D, 1);  // O += P·V
        }
        for (long i = 0; i < rows; i++) {
            const float inv = 1 / l[i];
            for (long d = 0; d < D; d++) oh[(r0 + i) * os + d] = acc[i * D + d] * inv;
            if (lh) lh[r0 + i] = m[i] + logf(l[i]);
        }
    }
}

/// P[i, j] = exp(scale·S[i, j] − lse[i]) on the visible keys of each row (zero elsewhere, up to
/// `padded`), and `delta[i] = Σ dO[i]·O[i]` (the softmax backward's row term).
INLINE void probabilities_block(float *p, float *delta, const float *lse, const float *dout, const float *out, long os,
                                long rows, long firstVisible, long cols, long padded, float scale, long D) {
    for (long i = 0; i < rows; i++) {
        const long valid = lmax(0, lmin(cols, firstVisible + i));
        float *row = p + i * BC;
        v8 vs = splat(scale), vl = splat(lse[i]);
        for (long j = 0; j < padded; j += 8)
            vstore(row + j, vselect(below(j, valid), vexp(vload(row + j) * vs - vl), splat(0)));
        float dot = 0;
        for (long d = 0; d < D; d++) dot += dout[i * os + d] * out[i * os + d];
        delta[i] = dot;
    }
}

/// dS = scale · P ∘ (dP − delta) in place on `dp`.
INLINE void softmax_backward_block(float *dp, const float *p, const float *delta, long rows, long padded, float scale) {
    for (long i = 0; i < rows; i++) {
        v8 vd = splat(delta[i]), vs = splat(scale);
        for (long j = 0; j < padded; j += 8)
            vstore(dp + i * BC + j, vload(p + i * BC + j) * (vload(dp + i * BC + j) - vd) * vs);
    }
}

INLINE void backward_body(const btx_attention_shape *s, float *dq, float *dk, float *dv, const float *dout,
                          const float *out, const float *lse, const float *q, const float *k, const float *v,
                          long b, long g, float *scratch) {
    const long D = s->D, Tq = s->Tq, Tk = s->Tk, offset = Tk - Tq, groups = s->H / s->KVH;
    const long qs = s->qStride, ks = s->kvStride, os = s->outStride;
    const float *kg = k + b * Tk * ks + g * D, *vg = v + b * Tk * ks + g * D;
    float *dkg = dk + b * Tk * ks + g * D, *dvg = dv + b * Tk * ks + g * D;
    float *kt = scratch, *vt = kt + D * BC, *p = vt + D * BC, *dp = p + BR * BC;
    float *dkacc = dp + BR * BC, *dvacc = dkacc + BC * D, *delta = dvacc + BC * D;
    for (long h = g * groups; h < (g + 1) * groups; h++)
        for (long t = 0; t < Tq; t++) memset(dq + (b * Tq + t) * qs + h * D, 0, (size_t)D * sizeof(float));
    for (long c0 = 0; c0 < Tk; c0 += BC) {
        const long cols = lmin(BC, Tk - c0), padded = (cols + 7) & ~7L;
        pack_transposed(kt, kg + c0 * ks, cols, padded, ks, D);
        pack_transposed(vt, vg + c0 * ks, cols, padded, ks, D);
        memset(dkacc, 0, (size_t)(cols * D) * sizeof(float));
        memset(dvacc, 0, (size_t)(cols * D) * sizeof(float));
        const long firstRow = lmax(0, c0 - offset) / BR * BR;  // rows before it see none of these keys
        for (long h = g * groups; h < (g + 1) * groups; h++) {
            const float *qh = q + b * Tq * qs + h * D, *doh = dout + b * Tq * os + h * D, *oh = out + b * Tq * os + h * D;
            const float *lh = lse + (b * s->H + h) * Tq;
            float *dqh = dq + b * Tq * qs + h * D;
            for (long r0 = firstRow; r0 < Tq; r0 += BR) {
                const long rows = lmin(BR, Tq - r0);
                gemm(rows, padded, D, qh + r0 * qs, qs, 1, kt, BC, p, BC, 0);  // S = Q·Kᵀ
                probabilities_block(p, delta, lh + r0, doh + r0 * os, oh + r0 * os, os, rows,
                                    offset + r0 - c0 + 1, cols, padded, s->scale, D);
                gemm(cols, D, rows, p, 1, BC, doh + r0 * os, os, dvacc, D, 1);        // dV += Pᵀ·dO
                gemm(rows, padded, D, doh + r0 * os, os, 1, vt, BC, dp, BC, 0);      // dP = dO·Vᵀ
                softmax_backward_block(dp, p, delta, rows, padded, s->scale);
                gemm(rows, D, cols, dp, BC, 1, kg + c0 * ks, ks, dqh + r0 * qs, qs, 1);  // dQ += dS·K
                gemm(cols, D, rows, dp, 1, BC, qh + r0 * qs, qs, dkacc, D, 1);        // dK += dSᵀ·Q
            }
        }
        store_rows(dkg + c0 * ks, dkacc, cols, ks, D);
        store_rows(dvg + c0 * ks, dvacc, cols, ks, D);
    }
}

__attribute__((target("avx2,fma"))) static void forward_avx2(const btx_attention_shape *s, float *out, float *lse,
                                                             const float *q, const float *k, const float *v, long b,
                                                             long h, float *scratch) {
    forward_body(s, out, lse, q, k, v, b, h, scratch);
}

static void forward_generic(const btx_attention_shape *s, float *out, float *lse, const float *q, const float *k,
                            const float *v, long b, long h, float *scratch) {
    forward_body(s, out, lse, q, k, v, b, h, scratch);
}

__attribute__((target("avx2,fma"))) static void backward_avx2(const btx_attention_shape *s, float *dq, float *dk,
                                                              float *dv, const float *dout, const float *out,
                                                              const float *lse, const float *q, const float *k,
                                                              const float *v, long b, long g, float *scratch) {
    backward_body(s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch);
}

static void backward_generic(const btx_attention_shape *s, float *dq, float *dk, float *dv, const float *dout,
                             const float *out, const float *lse, const float *q, const float *k, const float *v,
                             long b, long g, float *scratch) {
    backward_body(s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch);
}

int btx_best_isa(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? BTX_ISA_AVX2_FMA : BTX_ISA_GENERIC;
}

long btx_attention_scratch_floats(long D) { return 2 * D * BC + 2 * BR * BC + 2 * BC * D + BR; }

void btx_attention_forward_head(const btx_attention_shape *s, float *out, float *lse, const float *q,
                                const float *k, const float *v, long b, long h, float *scratch, int isa) {
    if (isa == BTX_ISA_AVX2_FMA) forward_avx2(s, out, lse, q, k, v, b, h, scratch);
    else forward_generic(s, out, lse, q, k, v, b, h, scratch);
}

void btx_attention_backward_group(const btx_attention_shape *s, float *dq, float *dk, float *dv,
                                  const float *dout, const float *out, const float *lse, const float *q,
                                  const float *k, const float *v, long b, long g, float *scratch, int isa) {
    if (isa == BTX_ISA_AVX2_FMA) backward_avx2(s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch);
    else backward_generic(s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch);
}
