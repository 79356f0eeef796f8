// SwiGLU (Llama's MLP gate) forward and backward on rows, 8 lanes per step; see SwiGLU.swift.
#include "BTXKernels.h"
#include "Vectors.h"

INLINE void swiglu_forward_body(float *out, const float *gate, const float *up, long rows, long I, long ld) {
    for (long n = 0; n < rows; n++) {
        const float *g = gate + n * ld, *u = up + n * ld;
        float *y = out + n * I;
        long i = 0;
        for (; i + VL <= I; i += VL) {
            vf x = vload(g + i);
            vstore(y + i, x * vsigmoid(x) * vload(u + i));
        }
        for (; i < I; i++) y[i] = g[i] / (1 + sexp(-g[i])) * u[i];
    }
}

// NOTE: dgate/dup may alias gate/up: every element is read before it is written.
INLINE void swiglu_backward_body(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                                 long rows, long I, long ld) {
    for (long n = 0; n < rows; n++) {
        const float *g = gate + n * ld, *u = up + n * ld, *dy = dout + n * I;
        float *dg = dgate + n * ld, *du = dup + n * ld;
        long i = 0;
        for (; i + VL <= I; i += VL) {
            vf x = vload(g + i), s = vsigmoid(x), d = vload(dy + i), upv = vload(u + i);
            vstore(dg + i, d * upv * s * (1 + x * (1 - s)));
            vstore(du + i, d * x * s);
        }
        for (; i < I; i++) {
            const float x = g[i], s = 1 / (1 + sexp(-x)), d = dy[i], upv = u[i];
            dg[i] = d * upv * s * (1 + x * (1 - s));
            du[i] = d * x * s;
        }
    }
}

BTX_PER_ISA(swiglu_forward, (float *out, const float *gate, const float *up, long rows, long I, long ld),
            (out, gate, up, rows, I, ld))
BTX_PER_ISA(swiglu_backward, (float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                              long rows, long I, long ld),
            (dgate, dup, dout, gate, up, rows, I, ld))

void btx_swiglu_forward(float *out, const float *gate, const float *up, long rows, long I, long ld, int isa) {
    BTX_CALL_ISA(isa, swiglu_forward, (out, gate, up, rows, I, ld));
}

void btx_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long rows,
                         long I, long ld, int isa) {
    BTX_CALL_ISA(isa, swiglu_backward, (dgate, dup, dout, gate, up, rows, I, ld));
}
