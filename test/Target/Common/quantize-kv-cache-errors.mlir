// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache=bits=8 --verify-diagnostics
// RUN: sed 's/expected-error/was-error/' %s | quant-opt --split-input-file --qc-quantize-kv-cache="bits=8 best-effort" 2>&1 | FileCheck %s --check-prefix=BEST

// What cannot be quantized: errors, or with best-effort the same as
// warnings, the caches left in f32.
// BEST: warning: KV cache left in f32: cache 'past.value' is read by 'linalg.copy'
// BEST: warning: KV cache left in f32: cache 'past.key' is not f32
// BEST: warning: KV cache left in f32: found no KV cache
// BEST: tensor.insert_slice %{{.+}} into %{{.+}} : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
// BEST: linalg.copy


// The cache read other than by the two products (here a copy of the view)
// would need a float copy of it: refused, naming the reader.
// expected-error @+1 {{cannot quantize the KV cache: cache 'past.value' is read by 'linalg.copy', which is not Q K^T or P V over [batch, kv_heads, rows, head_dim] (from zeros)}}
func.func @main(%new: tensor<?x2x?x8xf32>,
    %cache: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.value", quantc.kv_cache = {axis = 2 : i64, present = "present.value", size_from = array<i64: 0, 0, -1, -1, 0, 2, -1, -1>}},
    %len: tensor<i64> {onnx.name = "past_sequence_length", quantc.kv_length})
    -> (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32> {onnx.name = "present.value", quantc.kv_cache_of = 1 : i64}) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %l64 = tensor.extract %len[] : tensor<i64>
  %l = arith.index_cast %l64 : i64 to index
  %b = tensor.dim %new, %c0 : tensor<?x2x?x8xf32>
  %n = tensor.dim %new, %c2 : tensor<?x2x?x8xf32>
  %upd = tensor.insert_slice %new into %cache[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %total = arith.addi %l, %n : index
  %view = tensor.extract_slice %upd[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %e = tensor.empty(%b, %total) : tensor<?x2x?x8xf32>
  %copy = linalg.copy ins(%view : tensor<?x2x?x8xf32>) outs(%e : tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  return %copy, %upd : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}

// -----

// A cache laid out [batch, positions, heads, head_dim] (axis 1) is not the
// kernels' layout.
// expected-error @+1 {{cannot quantize the KV cache: cache 'past.key' is not f32 [batch, kv_heads, positions, head_dim] with static kv_heads and head_dim}}
func.func @main(%cache: tensor<?x?x2x8xf32> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 1 : i64, present = "present.key", size_from = array<i64: 0, 0, 0, 1, -1, -1, -1, -1>}})
    -> tensor<?x?x2x8xf32> {
  return %cache : tensor<?x?x2x8xf32>
}

// -----

// No cache at all.
// expected-error @+1 {{cannot quantize the KV cache: found no KV cache: looked for arguments of 'main' that quantc-kv-cache-in-place made runtime-owned caches (a 'past_key_values.*' input concatenated with new positions into a 'present.*' output)}}
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
