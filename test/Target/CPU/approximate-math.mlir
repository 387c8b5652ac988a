// RUN: quant-opt %s --quantc-approximate-math | FileCheck %s
// f32 exp, tanh and erf become arithmetic LLVM can vectorize; other
// functions and f64 keep their library calls.
// CHECK-LABEL: func.func @f(
// CHECK-NOT: math.exp %{{.+}} : f32
// CHECK-NOT: math.tanh %{{.+}} : f32
// CHECK-NOT: math.erf %{{.+}} : f32
// CHECK: math.fma
// CHECK: math.exp %{{.+}} : f64
// CHECK: math.tanh %{{.+}} : f64
// CHECK: math.sin %{{.+}} : f32
func.func @f(%x: f32, %y: f64) -> (f32, f64, f32, f64, f32, f32) {
  %a = math.exp %x : f32
  %b = math.exp %y : f64
  %c = math.tanh %x : f32
  %d = math.tanh %y : f64
  %e = math.erf %x : f32
  %s = math.sin %x : f32
  return %a, %b, %c, %d, %e, %s : f32, f64, f32, f64, f32, f32
}
