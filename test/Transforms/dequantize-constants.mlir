// The reference lowering of quantized weights: a qc.qconstant becomes the
// f32 matrix it stands for. Values worked out by hand: int4 affine, one f32
// scale and zero point per channel, codes packed little-endian.
//   channel 0: codes 0 1 2 15, zero 8, scale 0.5 -> -4 -3.5 -3 3.5
//   channel 1: codes 8 8 9 7,  zero 8, scale 2   ->  0  0   2 -2
// RUN: quant-opt %s --qc-dequantize-constants | FileCheck %s
// CHECK-NOT: qc.qconstant
// CHECK: %[[W:.+]] = arith.constant dense_resource<{{.+}}> : tensor<4x2xf32>
// CHECK: qc.linear %arg0, %[[W]] : tensor<?x4xf32>, tensor<4x2xf32>

// x = rows 0 and 3 of the identity picks W's rows 0 and 3.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; np.save('%t/x.npy', np.array([[1,0,0,0],[0,0,0,1]], np.float32))"
// RUN: quant-run %s --input x=%t/x.npy -o %t/out --output-format npy
// RUN: %python -c "import numpy as np; print(np.load('%t/out/y.npy').tolist())" | FileCheck %s --check-prefix=VALUES
// VALUES: {{\[\[}}-4.0, 0.0], [3.5, -2.0]]
func.func @main(%x: tensor<?x4xf32> {onnx.name = "x"}) -> (tensor<?x2xf32> {onnx.name = "y"}) {
  %w = qc.qconstant {codes = dense<[[16, -14], [-120, 121]]> : tensor<2x2xi8>,
                     scales = dense<[[0.5], [2.0]]> : tensor<2x1xf32>,
                     zero_points = dense<8> : tensor<2x1xi8>}
       : !qc.qweight<4x2, int4, affine, per_channel, scale = f32>
  %y = qc.linear %x, %w : tensor<?x4xf32>, !qc.qweight<4x2, int4, affine, per_channel, scale = f32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
