import CBTXKernels

/// Which build of the C kernels (`CBTXKernels`: fused attention, SwiGLU, RMSNorm, softmax) runs.
/// `best` is the widest this CPU runs: AVX-512 on CPUs that have it (Intel Xeons since Skylake, AMD
/// Zen 4), else AVX2 + FMA (AMD Zen, Intel Haswell and later), else the baseline x86-64 build. Only
/// attention has an AVX-512 build (it gives the AVX2 build's bits); the other kernels run their AVX2
/// build under `.avx512`. Tests run every build the CPU has against the same references.
public enum KernelBuild: Sendable, CaseIterable {
    case generic, avx2, avx512
    /// The fastest build this CPU runs (cpuid, once per process).
    public static let best: KernelBuild = {
        switch btx_best_isa() {
        case BTX_ISA_AVX512: return .avx512
        case BTX_ISA_AVX2_FMA: return .avx2
        default: return .generic
        }
    }()
    /// The builds this CPU runs, baseline first.
    public static var available: [KernelBuild] { allCases.filter { $0.isa <= best.isa } }
    var isa: Int32 {
        switch self {
        case .generic: return BTX_ISA_GENERIC
        case .avx2: return BTX_ISA_AVX2_FMA
        case .avx512: return BTX_ISA_AVX512
        }
    }
}
