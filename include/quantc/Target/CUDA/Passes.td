//===- Passes.td - passes of the CUDA target ---------------*- tablegen -*-===//

#ifndef QUANTC_TARGET_CUDA_PASSES_TD
#define QUANTC_TARGET_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def CudaLowerLaunches : Pass<"quantc-cuda-lower-launches", "mlir::ModuleOp"> {
  let summary = "Kernel launches as calls into the runtime's CUDA backend; "
                "the PTX out of the module";
  let description = [{
    On host code lowered to the LLVM dialect (after `gpu-to-llvm`) and the
    kernels serialized (`gpu-module-to-binary{format=isa}` of
    `gpu.module @quantc_kernels`): moves the PTX text into the module
    attribute `quantc.cuda_ptx` (the artifact writes it as its own code
    file, loaded once by the runtime) and replaces every `gpu.launch_func`
    with `quantc_cuda_launch(kernel, grid x/y/z, block x/y/z, shared bytes,
    params)`: `kernel` indexes the names listed in the global
    `quantc_cuda_kernels` ("name\0name\0...\0"), which the runtime resolves
    in the PTX module when it loads the artifact; `params` points to one
    pointer per kernel argument, as `cuLaunchKernel` takes them. The launch
    runs on the stream of the current model call.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // QUANTC_TARGET_CUDA_PASSES_TD
