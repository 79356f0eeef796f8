#include "BTXKernels.h"

int btx_best_isa(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? BTX_ISA_AVX2_FMA : BTX_ISA_GENERIC;
}
