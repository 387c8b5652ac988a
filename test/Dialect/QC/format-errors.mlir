// Every way a #qc.format or !qc.qweight can be malformed is a located error.
// RUN: quant-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{expected an element code: intN, nf4, fp4_e2m1, fp8_e4m3 or fp8_e5m2}}
func.func private @f() attributes {f = #qc.format<int, per_channel>}

// -----

// expected-error @+1 {{expected an element code}}
func.func private @f() attributes {f = #qc.format<float4, per_channel>}

// -----

// expected-error @+1 {{invalid quantized format: integer codes must have 2 to 8 bits, not 9}}
func.func private @f() attributes {f = #qc.format<int9, per_channel>}

// -----

// expected-error @+1 {{invalid quantized format: integer codes must have 2 to 8 bits, not 1}}
func.func private @f() attributes {f = #qc.format<int1, per_channel>}

// -----

// expected-error @+1 {{invalid quantized format: nf4 codes are symmetric: no zero point}}
func.func private @f() attributes {f = #qc.format<nf4, affine, group = 64>}

// -----

// expected-error @+1 {{invalid quantized format: fp8_e4m3 codes are symmetric: no zero point}}
func.func private @f() attributes {f = #qc.format<fp8_e4m3, affine, per_tensor>}

// -----

// expected-error @+1 {{format needs a granularity: per_tensor, per_channel or group = N}}
func.func private @f() attributes {f = #qc.format<int4, symmetric, scale = f16>}

// -----

// expected-error @+1 {{invalid quantized format: group size must be positive, not 0}}
func.func private @f() attributes {f = #qc.format<int4, group = 0>}

// -----

// expected-error @+1 {{'scale' given twice}}
func.func private @f() attributes {f = #qc.format<int4, group = 32, scale = f16, scale = f32>}

// -----

// expected-error @+1 {{'group' given twice}}
func.func private @f() attributes {f = #qc.format<int4, per_channel, group = 32>}

// -----

// expected-error @+1 {{'affine' given twice}}
func.func private @f() attributes {f = #qc.format<int4, symmetric, affine, per_channel>}

// -----

// expected-error @+1 {{unknown format option 'blocksize': expected symmetric, affine, per_tensor, per_channel, group, scale, double_quant or outliers}}
func.func private @f() attributes {f = #qc.format<int4, blocksize = 32>}

// -----

// expected-error @+1 {{scale type must be f32, f16 or bf16, not 'i8'}}
func.func private @f() attributes {f = #qc.format<int4, per_channel, scale = i8>}

// -----

// expected-error @+1 {{double-quantized scales use intN codes}}
func.func private @f() attributes {f = #qc.format<nf4, group = 64, double_quant = <nf4, block = 256>>}

// -----

// expected-error @+1 {{invalid quantized format: double-quantized scales must have 2 to 8 bits, not 12}}
func.func private @f() attributes {f = #qc.format<nf4, group = 64, double_quant = <int12, block = 256>>}

// -----

// expected-error @+1 {{invalid quantized format: double-quantization block must be positive, not 0}}
func.func private @f() attributes {f = #qc.format<int3, group = 16, double_quant = <int3, block = 0>>}

// -----

// expected-error @+1 {{expected 'block'}}
func.func private @f() attributes {f = #qc.format<int3, group = 16, double_quant = <int3, size = 16>>}

// -----

// expected-error @+1 {{a quantized weight is a matrix: expected KxN}}
func.func private @f(!qc.qweight<4x8x16, int4, per_channel>)

// -----

// expected-error @+1 {{invalid quantized weight: weight dimensions must be positive, not 0x16}}
func.func private @f(!qc.qweight<0x16, int4, per_channel>)

// -----

// expected-error @+1 {{expected an element code}}
func.func private @f(!qc.qweight<64x16, per_channel>)

// -----

// Layouts (#qc.layout, and !qc.qweight's `layout = ...`).
// expected-error @+1 {{unknown layout 'row_major': expected channel_major or tiles<TNxTK>}}
func.func private @f() attributes {l = #qc.layout<row_major>}

// -----

// expected-error @+1 {{a tile is channels x inputs: expected TNxTK}}
func.func private @f() attributes {l = #qc.layout<tiles<16>>}

// -----

// expected-error @+1 {{layout tiles must be positive, not 0x64}}
func.func private @f() attributes {l = #qc.layout<tiles<0x64>>}

// -----

// expected-error @+1 {{tiles of 16x64 (channels x inputs) do not divide a 96x40 weight}}
func.func private @f(!qc.qweight<96x40, int4, per_channel, layout = tiles<16x64>>)

// -----

// expected-error @+1 {{a tile row of 4 3-bit codes does not end on a byte}}
func.func private @f(!qc.qweight<64x32, int3, per_channel, layout = tiles<16x4>>)

// -----

// expected-error @+1 {{'layout' given twice}}
func.func private @f(!qc.qweight<64x32, int4, per_channel, layout = channel_major, layout = channel_major>)

// -----

// expected-error @+1 {{unknown quantized weight option 'tiles': expected a format option or layout}}
func.func private @f(!qc.qweight<64x32, int4, per_channel, tiles = 4>)
