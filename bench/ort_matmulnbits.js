// Times a model of bench/matmulnbits_models.py with ONNX Runtime's CPU
// provider: one warm-up, best of 5 runs, divided by the node count.
//   node ort_matmulnbits.js MODEL THREADS COPIES
// prints milliseconds per MatMulNBits node ("nan" if the model fails).
const ort = require('onnxruntime-node');

(async () => {
  const [model, threads, copies] =
      [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  let best = NaN;
  try {
    const s = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads, interOpNumThreads: 1,
    });
    const [m, k] = s.inputMetadata[0].shape;
    const a = new Float32Array(m * k);
    for (let i = 0; i < a.length; ++i) a[i] = (i % 7) * 0.1;
    const feeds = {A: new ort.Tensor('float32', a, [m, k])};
    await s.run(feeds);
    best = Infinity;
    for (let r = 0; r < 5; ++r) {
      const t0 = process.hrtime.bigint();
      await s.run(feeds);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } catch (e) {
    console.error(`${model}: ${e.message}`);
  }
  console.log(best / copies);
})().catch((e) => { console.error(e); process.exit(1); });
