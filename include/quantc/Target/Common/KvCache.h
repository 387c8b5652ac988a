//===- KvCache.h - the KV cache convention of compiled models ---*- C++ -*-===//
//
// Attribute names `quantc-kv-cache-in-place` puts on `main` and the
// signature reader turns into the runtime's tensor roles.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TARGET_COMMON_KVCACHE_H
#define QUANTC_TARGET_COMMON_KVCACHE_H

namespace quantc::kv {
/// On a cache argument: {axis, present, size_from}.
constexpr const char *kCache = "quantc.kv_cache";
/// On the argument holding the number of cached positions.
constexpr const char *kLength = "quantc.kv_length";
/// On a result: the index of the cache argument it is (after bufferization).
constexpr const char *kCacheOf = "quantc.kv_cache_of";
/// On the module: the KV cache storage `quantc compile --kv-bits` asks
/// qc-quantize-kv-cache for, {bits, group, keys}.
constexpr const char *kQuantRequest = "quantc.kv_quant";
/// On the module: what qc-calibrate-kv-cache measured, for each cache
/// input's name the [min, max] of its values per KV head and channel
/// (tensor<2 x kv_heads x head_dim x f32>, mins then maxes).
constexpr const char *kRanges = "quantc.kv_ranges";
/// Unit attribute of a module whose key caches' pre-RoPE keys become
/// results of main (named kPreRopeSuffix after their present), for
/// calibration.
constexpr const char *kObservePreRope = "quantc.kv_observe_pre_rope";
constexpr const char *kPreRopeSuffix = ".pre_rope";
/// The name of the length input.
constexpr const char *kLengthName = "past_sequence_length";
} // namespace quantc::kv

#endif // QUANTC_TARGET_COMMON_KVCACHE_H
