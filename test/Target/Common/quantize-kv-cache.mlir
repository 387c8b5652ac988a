// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache="bits=4 group=4" --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache --verify-diagnostics | FileCheck %s --check-prefix=NONE
// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache="bits=8" --verify-diagnostics 2>&1 | FileCheck %s --check-prefix=BYTE
// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache="bits=8 format=e4m3" --verify-diagnostics 2>&1 | FileCheck %s --check-prefix=E4M3
// RUN: not quant-opt %s --qc-quantize-kv-cache=bits=3 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not quant-opt %s --qc-quantize-kv-cache="bits=4 format=e4m3" 2>&1 | FileCheck %s --check-prefix=E4M3BITS
// RUN: not quant-opt %s --qc-quantize-kv-cache="bits=8 format=e4m3 keys=per-channel" 2>&1 | FileCheck %s --check-prefix=E4M3KEYS
// RUN: not quant-opt %s --qc-quantize-kv-cache="bits=8 format=bf16" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not quant-opt %s --qc-quantize-kv-cache="bits=4 group=3" 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not quant-opt %s --qc-quantize-kv-cache="bits=4 group=-2" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not quant-opt %s --qc-quantize-kv-cache="bits=4 keys=per-channel" 2>&1 | FileCheck %s --check-prefix=CHANNEL
// RUN: not quant-opt %s --qc-quantize-kv-cache="bits=4 keys=sideways" 2>&1 | FileCheck %s --check-prefix=KEYS

// A cache as quantc-kv-cache-in-place leaves it: written at the length,
// read through one view by Q K^T and P V. It becomes 4-bit codes (16 bytes
// a row of 8 values: one block of 32 codes) plus scales and offsets of each
// token's two groups of 4, appended as cache arguments and results; the
// write quantizes, the products decode in the kernels.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[P:[a-z0-9]+]]: tensor<?x2x?x?xf32>, %[[NEW:[a-z0-9]+]]: tensor<?x2x?x8xf32>
// CHECK-SAME: %[[CODES:[a-z0-9]+]]: tensor<?x2x?x16xi8> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 2 : i64, format = "int4, per token, group 4", part = "codes", present = "present.key", size_from = array<i64: 2, 0, -1, -1, 2, 2, -1, -1>}}
// CHECK-SAME: %[[LEN:[a-z0-9]+]]: tensor<i64> {onnx.name = "past_sequence_length", quantc.kv_length}
// CHECK-SAME: %[[SCALE:[a-z0-9]+]]: tensor<?x2x?x2xf32> {bufferization.writable = true, onnx.name = "past.key.scales", quantc.kv_cache = {axis = 2 : i64, format = "int4, per token, group 4", part = "scales", present = "present.key.scales", size_from = array<i64: 2, 0, -1, -1, 2, 2, -1, -1>}}
// CHECK-SAME: %[[OFFSET:[a-z0-9]+]]: tensor<?x2x?x2xf32> {bufferization.writable = true, onnx.name = "past.key.offsets", quantc.kv_cache = {axis = 2 : i64, format = "int4, per token, group 4", part = "offsets", present = "present.key.offsets", size_from = array<i64: 2, 0, -1, -1, 2, 2, -1, -1>}}
// CHECK-SAME: -> (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x16xi8> {onnx.name = "present.key", quantc.kv_cache_of = 3 : i64}, tensor<?x2x?x2xf32> {onnx.name = "present.key.scales", quantc.kv_cache_of = 5 : i64}, tensor<?x2x?x2xf32> {onnx.name = "present.key.offsets", quantc.kv_cache_of = 6 : i64})
// CHECK: %[[B:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[C2:.+]] = arith.constant 2 : i64
// CHECK: %[[CAP:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[C8:.+]] = arith.constant 8 : i64
// CHECK: %[[C4:.+]] = arith.constant 4 : i64
// CHECK-NOT: arith.constant 4
// CHECK: %[[C1:.+]] = arith.constant 1 : i64
// CHECK: %[[AT:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[W:.+]]:3 = qc.ukernel "quantc_kv_append" ins(%[[NEW]] : tensor<?x2x?x8xf32>) outs(%[[CODES]], %[[SCALE]], %[[OFFSET]] : tensor<?x2x?x16xi8>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>) scalars(%[[B]], %[[C2]], %[[CAP]], %[[C8]], %[[C4]], %[[C4]], %[[C1]], %[[AT]] :
// CHECK: %[[TOTAL:.+]] = arith.index_cast %{{.+}} : index to i64
// CHECK: %[[INIT_S:.+]] = tensor.empty
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.generic
// CHECK: %[[S:.+]] = qc.ukernel "quantc_kv_scores" ins(%[[Q]], %[[W]]#0, %[[W]]#1, %[[W]]#2 : {{.+}}) outs(%[[INIT_S]] : tensor<?x2x?x?xf32>) scalars(%[[B]], %[[C2]], %[[CAP]], %[[C8]], %[[C4]], %[[C4]], %[[C1]], %[[TOTAL]] :
// CHECK: %[[INIT_V:.+]] = tensor.empty
// CHECK: %[[V:.+]] = qc.ukernel "quantc_kv_values" ins(%[[P]], %[[W]]#0, %[[W]]#1, %[[W]]#2 : {{.+}}) outs(%[[INIT_V]] : tensor<?x2x?x8xf32>) scalars(%[[B]], %[[C2]], %[[CAP]], %[[C8]], %[[C4]], %[[C4]], %[[C1]], %[[TOTAL]] :
// CHECK: return %[[S]], %[[V]], %[[W]]#0, %[[W]]#1, %[[W]]#2
// Bad options, whatever the module.
// BITS: error: KV cache bits must be 8, 4 or 2, not 3 (option)
// E4M3BITS: error: KV cache format e4m3 takes 8 bits, not 4 (option)
// E4M3KEYS: error: KV cache format e4m3 has per-token scales only, not keys 'per-channel' (option)
// FORMAT: error: KV cache format must be int or e4m3, not 'bf16' (option)
// GROUP: error: KV cache group 3 does not divide the head dimension 8 of cache 'past.key'
// NEGATIVE: error: KV cache group must be positive, not -2 (option)
// CHANNEL: error: per-channel key scales need calibrated ranges (module attribute quantc.kv_ranges of qc-calibrate-kv-cache; quantc compile --calib TEXT): the module has none (option)
// KEYS: error: KV cache keys must be per-token or per-channel, not 'sideways' (option)
// Without a request the module is left alone.
// NONE-LABEL: func.func @main(
// NONE-NOT: qc.ukernel
// NONE: tensor.insert_slice
// 8-bit codes: one byte a value, one scale a token (group = the head).
// BYTE: tensor<?x2x?x8xi8> {{.+}}format = "int8, per token, group 8", part = "codes"
// BYTE: tensor<?x2x?x1xf32> {{.+}}part = "scales"
// FP8 numbers (format=e4m3), a byte a value as in int8 caches; flags
// QC_KV_PER_TOKEN | QC_KV_E4M3 = 3.
// E4M3: tensor<?x2x?x8xi8> {{.+}}format = "fp8 e4m3, per token, group 8", part = "codes"
// E4M3: tensor<?x2x?x1xf32> {{.+}}format = "fp8 e4m3, per token, group 8", part = "scales"
// E4M3: %[[FLAGS:.+]] = arith.constant 3 : i64
// E4M3: qc.ukernel "quantc_kv_append" {{.+}} scalars({{.+}}, %[[FLAGS]], %{{.+}} :
// E4M3: qc.ukernel "quantc_kv_scores" {{.+}} scalars({{.+}}, %[[FLAGS]], %{{.+}} :
// E4M3: qc.ukernel "quantc_kv_values" {{.+}} scalars({{.+}}, %[[FLAGS]], %{{.+}} :
#qk = affine_map<(b, h, r, t, d) -> (b, h, r, d)>
#k = affine_map<(b, h, r, t, d) -> (b, h, t, d)>
#s = affine_map<(b, h, r, t, d) -> (b, h, r, t)>
#p = affine_map<(b, h, r, d, t) -> (b, h, r, t)>
#v = affine_map<(b, h, r, d, t) -> (b, h, t, d)>
#o = affine_map<(b, h, r, d, t) -> (b, h, r, d)>
func.func @main(%q: tensor<?x2x?x8xf32>, %p: tensor<?x2x?x?xf32>, %new: tensor<?x2x?x8xf32>,
    %cache: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 2 : i64, present = "present.key", size_from = array<i64: 2, 0, -1, -1, 2, 2, -1, -1>}},
    %len: tensor<i64> {onnx.name = "past_sequence_length", quantc.kv_length})
    -> (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32> {onnx.name = "present.key", quantc.kv_cache_of = 3 : i64}) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %l64 = tensor.extract %len[] : tensor<i64>
  %l = arith.index_cast %l64 : i64 to index
  %b = tensor.dim %new, %c0 : tensor<?x2x?x8xf32>
  %n = tensor.dim %new, %c2 : tensor<?x2x?x8xf32>
  %r = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %upd = tensor.insert_slice %new into %cache[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %total = arith.addi %l, %n : index
  %view = tensor.extract_slice %upd[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %es = tensor.empty(%b, %r, %total) : tensor<?x2x?x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<?x2x?x?xf32>) -> tensor<?x2x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#qk, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %view : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) outs(%zs : tensor<?x2x?x?xf32>) {
  ^bb0(%a: f32, %k: f32, %acc: f32):
    %m = arith.mulf %a, %k : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x2x?x?xf32>
  %eo = tensor.empty(%b, %r) : tensor<?x2x?x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %out = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %view : tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>) outs(%zo : tensor<?x2x?x8xf32>) {
  ^bb0(%a: f32, %v: f32, %acc: f32):
    %m = arith.mulf %a, %v : f32
    %s = arith.addf %m, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?x2x?x8xf32>
  return %scores, %out, %upd : tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}
