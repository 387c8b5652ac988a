// A decoder-with-past in miniature for qc-calibrate-kv-cache: one cache of
// one KV head and two channels, the new keys of byte x being (x, -x/2).
#ids = affine_map<(b, h, t, d) -> (b, t)>
#out = affine_map<(b, h, t, d) -> (b, h, t, d)>
func.func @main(%ids: tensor<?x?xi64> {onnx.name = "input_ids"},
                %past: tensor<?x1x?x2xf32> {onnx.name = "past_key_values.0.key"})
    -> (tensor<?x1x?x2xf32> {onnx.name = "present.0.key"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %t = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %e = tensor.empty(%b, %t) : tensor<?x1x?x2xf32>
  %new = linalg.generic {indexing_maps = [#ids, #out],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ids : tensor<?x?xi64>) outs(%e : tensor<?x1x?x2xf32>) {
  ^bb0(%id: i64, %o: f32):
    %d = linalg.index 3 : index
    %x = arith.sitofp %id : i64 to f32
    %half = arith.constant -0.5 : f32
    %y = arith.mulf %x, %half : f32
    %first = arith.cmpi eq, %d, %c0 : index
    %v = arith.select %first, %x, %y : f32
    linalg.yield %v : f32
  } -> tensor<?x1x?x2xf32>
  %present = tensor.concat dim(2) %past, %new : (tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>) -> tensor<?x1x?x2xf32>
  return %present : tensor<?x1x?x2xf32>
}
