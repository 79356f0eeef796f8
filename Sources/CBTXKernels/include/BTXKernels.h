// CBTXKernels: the few hand-vectorised kernels of btxpipe that BLAS cannot serve (blocked, fused
// attention; the SwiGLU gate; RMSNorm rows; the cross-entropy's softmax). Each is compiled from one
// body for AVX2 + FMA (chosen at run time when the CPU has them: AMD Zen and every AVX-512 Xeon) and
// for baseline x86-64 / any other CPU; attention also for AVX-512 (16 lanes), where the CPU has it.
#ifndef BTX_KERNELS_H
#define BTX_KERNELS_H

// Instruction sets a kernel can be run with (`btx_best_isa` picks the best this CPU runs).
#define BTX_ISA_GENERIC 0
#define BTX_ISA_AVX2_FMA 1
#define BTX_ISA_AVX512 2  // AVX-512 F, VL, BW, DQ (and AVX2 + FMA); kernels without such a build run AVX2

// The best `BTX_ISA_*` this CPU supports (cpuid, at run time).
int btx_best_isa(void);

// Sizes and row strides of one attention call (see Attention.swift for the layouts).
typedef struct {
    long B, Tq, Tk, H, KVH, D;
    long qStride, kvStride, outStride;  // row strides of q/dq, of k/v/dk/dv, of out/dout
    float scale;                        // 1/sqrt(D)
} btx_attention_shape;

// Floats of scratch one worker needs (for forward and backward) at head size `D`.
long btx_attention_scratch_floats(long D);

// Causal attention forward of head `h` of batch `b`: writes out's rows of that head and, when
// `lse` is not NULL, the log-sum-exp of each query row's scaled scores (`lse[(b*H + h)*Tq + i]`).
void btx_attention_forward_head(const btx_attention_shape *s, float *out, float *lse, const float *q,
                                const float *k, const float *v, long b, long h, float *scratch, int isa);

// Backward of the heads sharing kv head `g` of batch `b`: overwrites their dq rows and the kv
// head's dk, dv rows, from dout, the forward's out and lse, and q, k, v.
void btx_attention_backward_group(const btx_attention_shape *s, float *dq, float *dk, float *dv,
                                  const float *dout, const float *out, const float *lse, const float *q,
                                  const float *k, const float *v, long b, long g, float *scratch, int isa);

// SwiGLU forward on `rows` rows: out[n·I + i] = silu(gate[n·ld + i]) · up[n·ld + i].
void btx_swiglu_forward(float *out, const float *gate, const float *up, long rows, long I, long ld, int isa);

// Its backward: dgate, dup (rows `ld` apart, may alias gate, up) from dout (dense).
void btx_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long rows,
                         long I, long ld, int isa);

// RMSNorm rows (see RMSNorm.swift): out = x · rstd · weight with rstd = 1/sqrt(mean(x²) + eps) kept,
// and the input gradient added into dinp.
void btx_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, long rows, long C, float eps,
                         int isa);
void btx_rmsnorm_backward(float *dinp, const float *dout, const float *inp, const float *weight, const float *rstd,
                          long rows, long C, int isa);

// row[0..<n] := softmax(row) · scale (scale 1: the probabilities; dloss: their part of the cross-entropy's
// gradient); returns softmax(row)[target], unscaled.
float btx_softmax(float *row, long n, long target, float scale, int isa);

// Sequentially consistent atomics on a `long` and a spin-wait hint, for the worker pool
// (ThreadPool.swift): inline, so a spinning thread makes no calls.
static inline long btx_atomic_load(const long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void btx_atomic_store(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline long btx_atomic_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
// Stores `desired` if `*p == expected`; true when it did.
static inline _Bool btx_atomic_cas(long *p, long expected, long desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline void btx_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
