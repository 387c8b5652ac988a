// Runs an ONNX model with ONNX Runtime (CPU) on inputs described by a JSON
// file: [{"name", "dtype", "shape", "file"}] with raw little-endian data;
// writes each output as OUT_DIR/<name>.bin plus OUT_DIR/outputs.json.
// node ort_run.js MODEL INPUTS.json OUT_DIR
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const arrays = {
  float32: Float32Array, int64: BigInt64Array, int32: Int32Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

(async () => {
  const [model, spec, outDir] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 2, interOpNumThreads: 1,
  });
  const feeds = {};
  for (const t of JSON.parse(fs.readFileSync(spec, 'utf8'))) {
    const buf = fs.readFileSync(t.file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    feeds[t.name] = new ort.Tensor(t.dtype, new arrays[t.dtype](ab), t.shape);
  }
  const results = await session.run(feeds);
  const described = [];
  for (const [name, t] of Object.entries(results)) {
    const file = path.join(outDir, name.replace(/\//g, '_') + '.bin');
    fs.writeFileSync(file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    described.push({name, dtype: t.type, shape: t.dims, file});
  }
  fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify(described));
})().catch((e) => { console.error(e); process.exit(1); });
