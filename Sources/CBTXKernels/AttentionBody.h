// Blocked, causal, fused attention (FlashAttention-2, Dao 2023, Algorithms 1 and 2) for the CPU: the
// bodies of the forward and backward passes, written once on VL-lane vectors and included by
// Attention.c (VL 8: its AVX2 + FMA and baseline builds) and Attention512.c (VL 16: AVX-512).
//
// Per (batch, head) the forward pass walks query blocks of BR rows against key blocks of BC keys:
// S = Q·Kᵀ for one block pair only, an online softmax (running row max and sum, the output rescaled
// when the max grows), O += P·V; the log-sum-exp of each row is kept for the backward pass, so no
// T × T matrix ever exists. The backward pass, per (batch, kv head), walks each head's query blocks
// against the key blocks they see, recomputes P from the kept log-sum-exp, adds dK and dV straight
// into their output rows and dQ into a block accumulator.
//
// Every product is the one small register-tiled kernel `gemm` below: 6 rows × 2·VL columns of C in
// twelve VL-lane accumulators, A read through any two strides (so Aᵀ costs nothing), B's rows
// contiguous. Scores are kept transposed (Sᵀ = K·Qᵀ, keys × query rows): only the query block is
// packed (Qᵀ, and dOᵀ in backward, once per block), and the softmax runs VL rows per vector.
//
// NOTE: every output is computed lane by lane in the same order whatever VL is (each element of a
// product is one fused multiply-add chain over k; each query row's softmax is one lane; the one
// reduction across lanes, `dot`, uses 8 lanes in every build), so the AVX-512 and AVX2 builds give
// the same bits. Each work item runs on one thread in a fixed order, so results do not depend on the
// thread count either.
#ifndef BTX_ATTENTION_BODY_H
#define BTX_ATTENTION_BODY_H
#include "BTXKernels.h"
#include "Vectors.h"
#include <math.h>
#include <string.h>

#define BR 32  // query rows per block
#define BC 64  // keys per block (a multiple of 16)
_Static_assert(BR % VL == 0, "a query block padded to whole vectors must fit its BR rows of scratch");

// The AVX-512 build's entry points (Attention512.c), called by Attention.c's.
void btx_attention_forward_avx512(const btx_attention_shape *s, float *out, float *lse, const float *q,
                                  const float *k, const float *v, long b, long h, float *scratch);
void btx_attention_backward_avx512(const btx_attention_shape *s, float *dq, float *dk, float *dv,
                                   const float *dout, const float *out, const float *lse, const float *q,
                                   const float *k, const float *v, long b, long g, float *scratch);

/// C[mr × VL·nv] (+)= A·B for one tile: A(i, p) = a[i·ars + p·acs], B(p, ·) = b + p·ldb. Up to 6 rows:
/// twelve independent accumulators hide the FMA latency (measured ~7% faster than 4 rows).
INLINE void tile(int mr, int nv, long k, const float *a, long ars, long acs, const float *b, long ldb,
                 float *c, long ldc, int accumulate) {
    vf r[6][2];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nv; j++) r[i][j] = accumulate ? vload(c + i * ldc + VL * j) : splat(0);
    for (long p = 0; p < k; p++) {
        const float *bp = b + p * ldb;
        vf b0 = vload(bp), b1 = nv > 1 ? vload(bp + VL) : splat(0);
        for (int i = 0; i < mr; i++) {
            vf ai = splat(a[i * ars + p * acs]);
            r[i][0] += ai * b0;
            if (nv > 1) r[i][1] += ai * b1;
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nv; j++) vstore(c + i * ldc + VL * j, r[i][j]);
}

/// `tile` with `mr` a compile-time constant in each branch (so its loops unroll into registers).
INLINE void tile_rows(int mr, int nv, long k, const float *a, long ars, long acs, const float *b, long ldb,
                      float *c, long ldc, int accumulate) {
    switch (mr) {
    case 6: tile(6, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    case 5: tile(5, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    case 4: tile(4, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    case 3: tile(3, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    case 2: tile(2, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    default: tile(1, nv, k, a, ars, acs, b, ldb, c, ldc, accumulate); break;
    }
}

/// C[m × n] (+)= A[m × k]·B[k × n] with A(i, p) = a[i·ars + p·acs], B row p at b + p·ldb (contiguous),
/// C row i at c + i·ldc; columns past the last multiple of VL in plain scalar code.
INLINE void gemm(long m, long n, long k, const float *a, long ars, long acs, const float *b, long ldb,
                 float *c, long ldc, int accumulate) {
    long n2 = n & ~(long)(2 * VL - 1), n1 = n & ~(long)(VL - 1);
    for (long i0 = 0; i0 < m; i0 += 6) {
        int mr = (int)lmin(6, m - i0);
        const float *ai = a + i0 * ars;
        float *ci = c + i0 * ldc;
        long j = 0;
        for (; j < n2; j += 2 * VL) tile_rows(mr, 2, k, ai, ars, acs, b + j, ldb, ci + j, ldc, accumulate);
        if (j < n1) { tile_rows(mr, 1, k, ai, ars, acs, b + j, ldb, ci + j, ldc, accumulate); j += VL; }
        for (; j < n; j++)
            for (int i = 0; i < mr; i++) {
                float sum = accumulate ? ci[i * ldc + j] : 0;
                for (long p = 0; p < k; p++) sum += ai[i * ars + p * acs] * b[p * ldb + j];
                ci[i * ldc + j] = sum;
            }
    }
}

/// dst[d·BR + i] = src[i·stride + d] for i < rows (a block of query rows, transposed), zero for
/// rows ≤ i < padded.
/// NOTE: kept scalar: in the AVX-512 build the compiler vectorised the copy into scatters, which took
/// an eighth of the backward pass.
INLINE void pack_transposed(float *dst, const float *src, long rows, long padded, long stride, long D) {
    for (long i = 0; i < rows; i++) {
#pragma clang loop vectorize(disable)
        for (long d = 0; d < D; d++) dst[d * BR + i] = src[i * stride + d];
    }
    for (long d = 0; d < D; d++)
        for (long i = rows; i < padded; i++) dst[d * BR + i] = 0;
}

/// Σ a[d]·b[d] over D elements (8-lane partial sums whatever VL is, then the tail).
INLINE float dot(const float *a, const float *b, long D) {
    v8 acc = {0};
    long d = 0;
    for (; d + 8 <= D; d += 8) acc += vload8(a + d) * vload8(b + d);
    float sum = hsum8(acc);
    for (; d < D; d++) sum += a[d] * b[d];
    return sum;
}

/// Lanes of query rows `i0…i0+VL−1` that see key `j` of the block: row i sees key j iff j ≤ first + i,
/// with `first` = (position of the block's row 0) − (the block's first key).
INLINE vfi sees(long first, long i0, long j) {
    return lanes() + (int)(first + i0 - j) >= 0;
}

/// Online softmax over one key block, VL query rows per vector. `st[j·BR + i]` holds the raw score
/// of row i and key j < cols. Updates each row's running max `m` and sum `l` of the scaled scores,
/// rescales the rows of the output accumulator `acc[BR × D]` when their max grows, and leaves
/// exp(scale·s − m) in `st` (zero where a row does not see the key).
INLINE void online_softmax_block(float *st, long cols, long rows, long padded, long first, float scale, float *m,
                                 float *l, float *acc, long D) {
    for (long i0 = 0; i0 < padded; i0 += VL) {
        vf vmax_ = splat(-INFINITY), vs = splat(scale);
        for (long j = 0; j < cols; j++)
            vmax_ = vmax(vmax_, vselect(sees(first, i0, j), vload(st + j * BR + i0), splat(-INFINITY)));
        // A row that sees none of these keys keeps its max (never -inf: key 0 is in every row's first block).
        vf mold = vload(m + i0), mnew = vmax(mold, vmax_ * vs), alpha = vexp(mold - mnew), sum = splat(0);
        for (long j = 0; j < cols; j++) {
            vf p = vselect(sees(first, i0, j), vexp(vload(st + j * BR + i0) * vs - mnew), splat(0));
            vstore(st + j * BR + i0, p);
            sum += p;
        }
        vstore(l + i0, vload(l + i0) * alpha + sum);
        vstore(m + i0, mnew);
        for (long i = i0; i < lmin(i0 + VL, rows); i++) {
            const float a = alpha[i - i0];
            if (a != 1)
                for (long d = 0; d < D; d++) acc[i * D + d] *= a;
        }
    }
}

// Forward of head h of batch b. Per query block: Qᵀ packed once ([D × BR], rows padded to VL), then
// per key block Sᵀ = K·Qᵀ ([cols × BR]: the softmax runs along columns, VL rows per vector) and
// O += P·V with P read through Sᵀ's strides.
INLINE void forward_body(const btx_attention_shape *s, float *out, float *lse, const float *q, const float *k,
                         const float *v, long b, long h, float *scratch) {
    const long D = s->D, Tq = s->Tq, Tk = s->Tk, offset = Tk - Tq, g = h / (s->H / s->KVH);
    const long qs = s->qStride, ks = s->kvStride, os = s->outStride;
    const float *qh = q + b * Tq * qs + h * D, *kg = k + b * Tk * ks + g * D, *vg = v + b * Tk * ks + g * D;
    float *oh = out + b * Tq * os + h * D, *lh = lse ? lse + (b * s->H + h) * Tq : NULL;
    float *qt = scratch, *st = qt + D * BR, *acc = st + BC * BR, *m = acc + BR * D, *l = m + BR;
    for (long r0 = 0; r0 < Tq; r0 += BR) {
        const long rows = lmin(BR, Tq - r0), padded = (rows + VL - 1) & ~(long)(VL - 1), keys = offset + r0 + rows;
        pack_transposed(qt, qh + r0 * qs, rows, padded, qs, D);
        for (long i = 0; i < padded; i++) { m[i] = -INFINITY; l[i] = 0; }
        memset(acc, 0, (size_t)(rows * D) * sizeof(float));
        for (long c0 = 0; c0 < keys; c0 += BC) {
            const long cols = lmin(BC, keys - c0);
            gemm(cols, padded, D, kg + c0 * ks, ks, 1, qt, BR, st, BR, 0);  // Sᵀ = K·Qᵀ (unscaled)
            online_softmax_block(st, cols, rows, padded, offset + r0 - c0, s->scale, m, l, acc, D);
            gemm(rows, D, cols, st, 1, BR, vg + c0 * ks, ks, acc, D, 1);  // O += P·V
        }
        for (long i = 0; i < rows; i++) {
            const float inv = 1 / l[i];
            for (long d = 0; d < D; d++) oh[(r0 + i) * os + d] = acc[i * D + d] * inv;
            if (lh) lh[r0 + i] = m[i] + logf(l[i]);
        }
    }
}

/// Pᵀ[j, i] = exp(scale·Sᵀ[j, i] − lse[i]) where row i sees key j, else 0 (in place on `pt`).
INLINE void probabilities_block(float *pt, const float *lse, long cols, long padded, long first, float scale) {
    for (long i0 = 0; i0 < padded; i0 += VL) {
        vf vs = splat(scale), vl = vload(lse + i0);
        for (long j = 0; j < cols; j++)
            vstore(pt + j * BR + i0, vselect(sees(first, i0, j), vexp(vload(pt + j * BR + i0) * vs - vl), splat(0)));
    }
}

/// dSᵀ = scale · Pᵀ ∘ (dPᵀ − delta) in place on `dpt` (delta per query row, along the lanes).
INLINE void softmax_backward_block(float *dpt, const float *pt, const float *delta, long cols, long padded, float scale) {
    for (long i0 = 0; i0 < padded; i0 += VL) {
        vf vd = vload(delta + i0), vs = splat(scale);
        for (long j = 0; j < cols; j++)
            vstore(dpt + j * BR + i0, vload(pt + j * BR + i0) * (vload(dpt + j * BR + i0) - vd) * vs);
    }
}

// Backward of the heads sharing kv head g of batch b: per head and query block, Qᵀ and dOᵀ packed
// once, then per key block Pᵀ recomputed from the kept log-sum-exp, dV and dK added straight into
// their output rows, dQ into a block accumulator.
INLINE void backward_body(const btx_attention_shape *s, float *dq, float *dk, float *dv, const float *dout,
                          const float *out, const float *lse, const float *q, const float *k, const float *v,
                          long b, long g, float *scratch) {
    const long D = s->D, Tq = s->Tq, Tk = s->Tk, offset = Tk - Tq, groups = s->H / s->KVH;
    const long qs = s->qStride, ks = s->kvStride, os = s->outStride;
    const float *kg = k + b * Tk * ks + g * D, *vg = v + b * Tk * ks + g * D;
    float *dkg = dk + b * Tk * ks + g * D, *dvg = dv + b * Tk * ks + g * D;
    float *qt = scratch, *dot_ = qt + D * BR, *pt = dot_ + D * BR, *dpt = pt + BC * BR, *dqacc = dpt + BC * BR;
    float *delta = dqacc + BR * D, *lrow = delta + BR;
    for (long t = 0; t < Tk; t++) {
        memset(dkg + t * ks, 0, (size_t)D * sizeof(float));
        memset(dvg + t * ks, 0, (size_t)D * sizeof(float));
    }
    for (long h = g * groups; h < (g + 1) * groups; h++) {
        const float *qh = q + b * Tq * qs + h * D, *doh = dout + b * Tq * os + h * D, *oh = out + b * Tq * os + h * D;
        const float *lh = lse + (b * s->H + h) * Tq;
        float *dqh = dq + b * Tq * qs + h * D;
        for (long r0 = 0; r0 < Tq; r0 += BR) {
            const long rows = lmin(BR, Tq - r0), padded = (rows + VL - 1) & ~(long)(VL - 1), keys = offset + r0 + rows;
            pack_transposed(qt, qh + r0 * qs, rows, padded, qs, D);
            pack_transposed(dot_, doh + r0 * os, rows, padded, os, D);
            for (long i = 0; i < padded; i++) {
                delta[i] = i < rows ? dot(doh + (r0 + i) * os, oh + (r0 + i) * os, D) : 0;
                lrow[i] = i < rows ? lh[r0 + i] : 0;
            }
            memset(dqacc, 0, (size_t)(rows * D) * sizeof(float));
            for (long c0 = 0; c0 < keys; c0 += BC) {
                const long cols = lmin(BC, keys - c0), first = offset + r0 - c0;
                const float *kb = kg + c0 * ks, *vb = vg + c0 * ks;
                gemm(cols, padded, D, kb, ks, 1, qt, BR, pt, BR, 0);                     // Sᵀ = K·Qᵀ
                probabilities_block(pt, lrow, cols, padded, first, s->scale);
                gemm(cols, D, rows, pt, BR, 1, doh + r0 * os, os, dvg + c0 * ks, ks, 1);  // dV += Pᵀ·dO
                gemm(cols, padded, D, vb, ks, 1, dot_, BR, dpt, BR, 0);                   // dPᵀ = V·dOᵀ
                softmax_backward_block(dpt, pt, delta, cols, padded, s->scale);
                gemm(rows, D, cols, dpt, 1, BR, kb, ks, dqacc, D, 1);                    // dQ += dS·K
                gemm(cols, D, rows, dpt, BR, 1, qh + r0 * qs, qs, dkg + c0 * ks, ks, 1);  // dK += dSᵀ·Q
            }
            for (long i = 0; i < rows; i++) memcpy(dqh + (r0 + i) * qs, dqacc + i * D, (size_t)D * sizeof(float));
        }
    }
}

#endif
