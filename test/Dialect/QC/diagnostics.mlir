// Malformed qc IR gives a diagnostic located at file:line:column and makes
// quant-opt exit non-zero.
// RUN: not quant-opt %s 2>&1 | FileCheck %s -DFILE=%s

// CHECK: [[FILE]]:[[# @LINE + 2]]:8: error: 'qc.linear' op input's last dimension (9) does not match the weight's input dimension (8)
func.func @f(%x: tensor<4x9xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %y = qc.linear %x, %w : tensor<4x9xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
