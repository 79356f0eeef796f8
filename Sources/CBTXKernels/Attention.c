// Causal attention's entry points and its VL-8 builds: AVX2 + FMA, and baseline x86-64 (two SSE
// registers per vector); CPUs with AVX-512 run Attention512.c's build. The kernel is AttentionBody.h.
#include "AttentionBody.h"

BTX_PER_ISA(forward, (const btx_attention_shape *s, float *out, float *lse, const float *q, const float *k,
                     const float *v, long b, long h, float *scratch),
            (s, out, lse, q, k, v, b, h, scratch))
BTX_PER_ISA(backward, (const btx_attention_shape *s, float *dq, float *dk, float *dv, const float *dout,
                       const float *out, const float *lse, const float *q, const float *k, const float *v, long b,
                       long g, float *scratch),
            (s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch))

long btx_attention_scratch_floats(long D) { return 3 * D * BR + 2 * BC * BR + 2 * BR; }

void btx_attention_forward_head(const btx_attention_shape *s, float *out, float *lse, const float *q,
                                const float *k, const float *v, long b, long h, float *scratch, int isa) {
    if (isa >= BTX_ISA_AVX512) btx_attention_forward_avx512(s, out, lse, q, k, v, b, h, scratch);
    else BTX_CALL_ISA(isa, forward, (s, out, lse, q, k, v, b, h, scratch));
}

void btx_attention_backward_group(const btx_attention_shape *s, float *dq, float *dk, float *dv,
                                  const float *dout, const float *out, const float *lse, const float *q,
                                  const float *k, const float *v, long b, long g, float *scratch, int isa) {
    if (isa >= BTX_ISA_AVX512) btx_attention_backward_avx512(s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch);
    else BTX_CALL_ISA(isa, backward, (s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch));
}
