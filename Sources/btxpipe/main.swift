import BTXTensor

// NOTE: must run before anything touches BLAS: it may re-execute this binary with
// OPENBLAS_CORETYPE set, which OpenBLAS only reads when it loads.
BLASRuntime.prepareProcess()
ExitStatus.main(BTXPipeCommand.self)
