import BTXTensor

// NOTE: must run before anything touches BLAS: it may re-execute this binary with
// OPENBLAS_CORETYPE set, which OpenBLAS only reads when it loads. Commands that never multiply
// skip that re-exec (it is most of a no-op rerun's time); `run` decides once it knows a stage
// will compute (`BLASRuntime.ensurePreferredKernels`).
BLASRuntime.prepareProcess(reexecNow: !BLASFreeCommands.deferKernelChoice(CommandLine.arguments))
ExitStatus.main(BTXPipeCommand.self)
