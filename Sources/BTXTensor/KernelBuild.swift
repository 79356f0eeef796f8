import CBTXKernels

/// Which build of the C kernels (`CBTXKernels`: fused attention, SwiGLU) runs. `best` is AVX2 + FMA
/// where the CPU has them (AMD Zen, Intel Haswell and later, AVX-512 Xeons included), else the
/// baseline x86-64 build; tests run both against the same references.
public enum KernelBuild: Sendable {
    case generic, avx2
    /// The fastest build this CPU runs (cpuid, once per process).
    public static let best: KernelBuild = btx_best_isa() == BTX_ISA_AVX2_FMA ? .avx2 : .generic
    var isa: Int32 { self == .avx2 ? BTX_ISA_AVX2_FMA : BTX_ISA_GENERIC }
}
