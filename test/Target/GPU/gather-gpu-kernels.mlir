// RUN: quant-opt %s -quantc-gather-gpu-kernels -split-input-file -verify-diagnostics | FileCheck %s

// The kernels of outlined modules move into one module, named after the
// modules they came from; the launches follow them.
// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func @quantc_kernels::@main_kernel blocks
// CHECK: gpu.launch_func @quantc_kernels::@main_kernel_0 blocks
// CHECK: gpu.module @quantc_kernels {
// CHECK:   gpu.func @main_kernel(%{{.*}}: memref<?xf32>) kernel
// CHECK:   gpu.func @main_kernel_0(%{{.*}}: memref<?xf32>) kernel
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @main(%a: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @main_kernel::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>)
    gpu.launch_func @main_kernel_0::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>)
    return
  }
  gpu.module @main_kernel {
    gpu.func @main_kernel(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @main_kernel_0 {
    gpu.func @main_kernel(%a: memref<?xf32>) kernel {
      %c0 = arith.constant 0 : index
      %x = memref.load %a[%c0] : memref<?xf32>
      memref.store %x, %a[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// No silent host fallback: host code that reads tensor data (here a value
// used as a loop bound) is an error naming the op.
module attributes {gpu.container_module} {
  func.func @main(%a: memref<?xi64>, %b: memref<?xf32>) {
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{'memref.load' would run on the host: the GPU target has no device lowering for it}}
    %n = memref.load %a[%c0] : memref<?xi64>
    return
  }
}

// -----

// ... except the KV caches' length, which stays in host memory.
// CHECK-LABEL: func.func @main
// CHECK: memref.load %arg0[] : memref<i64>
module attributes {gpu.container_module} {
  func.func @main(%len: memref<i64> {quantc.kv_length}) {
    %n = memref.load %len[] : memref<i64>
    return
  }
}

// -----

module attributes {gpu.container_module} {
  func.func @main(%a: memref<4xf32>, %b: memref<4xf32>) {
    // expected-error @+1 {{'memref.copy' would run on the host}}
    memref.copy %a, %b : memref<4xf32> to memref<4xf32>
    return
  }
}

// -----

// expected-error @+1 {{the module has no function 'main'}}
module attributes {gpu.container_module} {
}
