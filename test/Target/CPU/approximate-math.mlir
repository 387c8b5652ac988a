// RUN: quant-opt %s --quantc-approximate-math | FileCheck %s
// f32 exp becomes arithmetic LLVM can vectorize; other functions and f64
// keep their library calls.
// CHECK-LABEL: func.func @f(
// CHECK-NOT: math.exp %{{.+}} : f32
// CHECK: math.fma
// CHECK: math.exp %{{.+}} : f64
// CHECK: math.tanh
func.func @f(%x: f32, %y: f64) -> (f32, f64, f32) {
  %a = math.exp %x : f32
  %b = math.exp %y : f64
  %c = math.tanh %x : f32
  return %a, %b, %c : f32, f64, f32
}
