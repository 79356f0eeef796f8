// RMSNorm forward and input-gradient rows, 8 lanes per step; see RMSNorm.swift.
#include "BTXKernels.h"
#include "Vectors.h"

INLINE void rmsnorm_forward_body(float *out, float *rstd, const float *inp, const float *weight, long rows, long C,
                                 float eps) {
    for (long n = 0; n < rows; n++) {
        const float *x = inp + n * C;
        float *y = out + n * C;
        // Σ x²: float partials over blocks of 1024, then double (as VectorMath.sumOfSquares).
        double total = 0;
        long c = 0;
        const long vectorEnd = C & ~(long)(VL - 1);
        while (c < vectorEnd) {
            const long end = c + 1024 < vectorEnd ? c + 1024 : vectorEnd;
            vf acc = splat(0);
            for (; c < end; c += VL) { vf v = vload(x + c); acc += v * v; }
            total += hsum8(acc);
        }
        for (; c < C; c++) total += x[c] * x[c];
        const float r = 1 / sqrtf((float)(total / (double)C) + eps);
        rstd[n] = r;
        const vf vr = splat(r);
        for (c = 0; c + VL <= C; c += VL) vstore(y + c, vload(x + c) * vr * vload(weight + c));
        for (; c < C; c++) y[c] = x[c] * r * weight[c];
    }
}

// dx += r · (w·dy − x · mean(w·dy · x̂) · r), folded as in RMSNorm.swift.
INLINE void rmsnorm_backward_body(float *dinp, const float *dout, const float *inp, const float *weight,
                                  const float *rstd, long rows, long C) {
    for (long n = 0; n < rows; n++) {
        const float *x = inp + n * C, *dy = dout + n * C;
        float *dx = dinp + n * C;
        const float r = rstd[n];
        vf acc = splat(0);
        long c = 0;
        for (; c + VL <= C; c += VL) acc += vload(dy + c) * vload(weight + c) * vload(x + c);
        float s = hsum8(acc);
        for (; c < C; c++) s += dy[c] * weight[c] * x[c];
        const float m = s * r * r / (float)C;
        const vf vm = splat(m), vr = splat(r);
        for (c = 0; c + VL <= C; c += VL)
            vstore(dx + c, vload(dx + c) + (vload(dy + c) * vload(weight + c) - vload(x + c) * vm) * vr);
        for (; c < C; c++) dx[c] += (dy[c] * weight[c] - x[c] * m) * r;
    }
}

BTX_PER_ISA(rmsnorm_forward, (float *out, float *rstd, const float *inp, const float *weight, long rows, long C,
                              float eps),
            (out, rstd, inp, weight, rows, C, eps))
BTX_PER_ISA(rmsnorm_backward, (float *dinp, const float *dout, const float *inp, const float *weight,
                               const float *rstd, long rows, long C),
            (dinp, dout, inp, weight, rstd, rows, C))

void btx_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, long rows, long C, float eps,
                         int isa) {
    BTX_CALL_ISA(isa, rmsnorm_forward, (out, rstd, inp, weight, rows, C, eps));
}

void btx_rmsnorm_backward(float *dinp, const float *dout, const float *inp, const float *weight, const float *rstd,
                          long rows, long C, int isa) {
    BTX_CALL_ISA(isa, rmsnorm_backward, (dinp, dout, inp, weight, rstd, rows, C));
}
