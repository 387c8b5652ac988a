// A two-layer MLP in the qc dialect: the first layer's weight is 4-bit
// affine with groups of 16 and f16 scales, the second stays in f32; the
// input of each layer is observed for calibration.
func.func @mlp(%x: tensor<?x32xf32>, %w1b: tensor<8xf32>, %w2: tensor<8x4xf32>) -> tensor<?x4xf32> {
  qc.observe %x layer "mlp.up" <absmax|hessian> : tensor<?x32xf32>
  %w1 = qc.qconstant {codes = dense<"0x0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"> : tensor<8x16xi8>,
                      scales = dense<0.125> : tensor<8x2xf16>,
                      zero_points = dense<8> : tensor<8x2xi8>}
        : !qc.qweight<32x8, int4, affine, group = 16, scale = f16>
  %h = qc.linear %x, %w1, %w1b : tensor<?x32xf32>, !qc.qweight<32x8, int4, affine, group = 16, scale = f16>, tensor<8xf32> -> tensor<?x8xf32>
  qc.observe %h layer "mlp.down" <absmax|hessian> : tensor<?x8xf32>
  %y = qc.linear %h, %w2 : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
