// The AVX-512 build of causal attention (AttentionBody.h at 16 lanes), called by Attention.c's entry
// points when the CPU has AVX-512 (`BTX_ISA_AVX512`); it gives the same bits as the AVX2 build.
#define VL 16
#include "AttentionBody.h"

#define BTX_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

BTX_AVX512 void btx_attention_forward_avx512(const btx_attention_shape *s, float *out, float *lse, const float *q,
                                             const float *k, const float *v, long b, long h, float *scratch) {
    forward_body(s, out, lse, q, k, v, b, h, scratch);
}

BTX_AVX512 void btx_attention_backward_avx512(const btx_attention_shape *s, float *dq, float *dk, float *dv,
                                              const float *dout, const float *out, const float *lse, const float *q,
                                              const float *k, const float *v, long b, long g, float *scratch) {
    backward_body(s, dq, dk, dv, dout, out, lse, q, k, v, b, g, scratch);
}
