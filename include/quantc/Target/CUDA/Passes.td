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

def CudaQuantizedMatmul : Pass<"quantc-cuda-qmatmul", "mlir::ModuleOp"> {
  let summary = "The fused dequantize-matmul kernel for each bufferized "
                "qc.ukernel \"quantc_qmatmul_f32\"";
  let description = [{
    Replaces each `qc.ukernel "quantc_qmatmul_f32"` on buffers (made by
    `quantc-quantized-linear-to-ukernel{gpu}`: 2-, 4- or 8-bit integer
    codes in qc.qconstant's channel-major layout, f32/f16/bf16 scales per
    channel or group, affine zero points) with a `gpu.launch` whose body
    decodes the codes in registers. One row (a decode step): a block of 4
    warps takes 8 output channels and splits their rows between its warps
    (their sums meet in workgroup memory), each lane loading 16 bytes of
    codes at a time (4-byte words where a row is not a whole number of
    16-byte units, bytes where it is not one of words). Several rows (or
    many, where the tensor-core kernel below does not apply): each block
    takes 8 rows and 16 channels, 4 per warp, a lane loading a word
    at a time. The scale and zero point apply once per unit (a unit never
    straddles a group); the lanes' sums meet by warp shuffles. Blocks of
    rows and of channels both run along the grid's x (no 65535 cap on the
    rows); a row count known only at run time chooses between the two
    launches at run time. 9 rows and more, with 4- or 8-bit codes in whole
    trips of 16-byte units and x 16-byte aligned (checked at run time): the
    tensor-core kernel instead, each warp multiplying 16 x `row-tiles` rows
    by 8 x `channel-tiles` channels with `nvgpu.mma.sync` m16n8k16 (f16
    operands: x rounded to f16, codes decoded to f16, scaled on the f32
    sums where a trip lies in one group, else in f16 before the mma). The
    block's 4 warps share their rows (`row-warps` > 1 splits them between
    rows and channels): x passes through registers into
    workgroup memory a trip of k at a time, rounded to f16 and in the
    order of the mma's A pairs (two stages: each trip's x loaded two trips
    ahead, stored one ahead). A tile count of 0 is chosen by the codes
    and the rows (the fastest measured on 8192 x 28672 weights): 4-bit codes
    1 x 4 tiles below 64 rows and 2 x 4 from 64, 8-bit codes 1 x 8 below 32
    rows and 2 x 2 from 32 (a row count known only at run time: both
    kernels, chosen then). Where its tiles are few, blocks split K (up
    to 1056 blocks, each at least 4 trips) and add their sums to y, zeroed
    by a launch before. Runs after `quantc-map-to-gpu`, before
    `gpu-kernel-outlining`.
  }];
  let options = [
    Option<"rowTiles", "row-tiles", "int64_t", "1",
           "Tiles of 16 rows per warp in the tensor-core kernel (0: by the "
           "codes' bits and the rows)">,
    Option<"channelTiles", "channel-tiles", "int64_t", "8",
           "Tiles of 8 channels per warp in the tensor-core kernel (0: by "
           "the codes' bits and the rows)">,
    Option<"rowWarps", "row-warps", "int64_t", "1",
           "Warps of a tensor-core block along its rows (1, 2 or 4; the "
           "others split its channels)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::gpu::GPUDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::ub::UBDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

#endif // QUANTC_TARGET_CUDA_PASSES_TD
