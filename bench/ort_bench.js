// ONNX Runtime (CPU) peer of bench/cpu.sh: prefill tokens/s on a
// [batch, seq] block of bytes, and greedy decode tokens/s after a seq-byte
// prompt, with the KV cache (decoder-with-past models only).
//   node ort_bench.js MODEL BATCH SEQ DECODE THREADS [KV_HEADS HEAD_DIM]
const ort = require('onnxruntime-node');

(async () => {
  const [model, batch, seq, decode, threads, heads, headDim] =
      [process.argv[2], ...process.argv.slice(3).map(Number)];
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1,
  });
  const pastNames = s.inputNames.filter((n) => n.startsWith('past_key_values'));
  const presentOf = (n) => 'present' + n.slice('past_key_values'.length);
  const feeds = (ids, b, t, start, past) => {
    const f = {input_ids: new ort.Tensor('int64', ids, [b, t])};
    if (s.inputNames.includes('position_ids')) {
      const pos = new BigInt64Array(b * t);
      for (let i = 0; i < b * t; ++i) pos[i] = BigInt(start + (i % t));
      f.position_ids = new ort.Tensor('int64', pos, [b, t]);
    }
    for (const n of pastNames)
      f[n] = past ? past[n]
                  : new ort.Tensor('float32', new Float32Array(0), [b, heads, 0, headDim]);
    return f;
  };
  const ids = new BigInt64Array(batch * seq);
  for (let i = 0; i < ids.length; ++i) ids[i] = BigInt((i * 131 + 7) % 256);

  const reps = 3;
  await s.run(feeds(ids, batch, seq, 0));
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; ++i) await s.run(feeds(ids, batch, seq, 0));
  const prefill = Number(process.hrtime.bigint() - t0) / 1e9 / reps;

  let decodeRate = 0;
  if (pastNames.length && decode > 0) {
    let out = await s.run(feeds(ids.slice(0, seq), 1, seq, 0));
    t0 = process.hrtime.bigint();
    for (let step = 0; step < decode; ++step) {
      const l = out.logits.data, vocab = out.logits.dims[2];
      const last = (out.logits.dims[1] - 1) * vocab;
      let best = 0;
      for (let v = 1; v < vocab; ++v) if (l[last + v] > l[last + best]) best = v;
      const past = {};
      for (const n of pastNames) past[n] = out[presentOf(n)];
      out = await s.run(feeds(BigInt64Array.from([BigInt(best)]), 1, 1, seq + step, past));
    }
    decodeRate = decode / (Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(JSON.stringify({prefill: batch * seq / prefill, decode: decodeRate}));
})().catch((e) => { console.error(e); process.exit(1); });
