// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node, CPU, one thread) for the
// ONNX tests: the reference runtime that plangrad's exports must agree with.
//   node ort_run.js MODEL.onnx OUTDIR NAME=FILE:D0xD1x... ...
// Each input is raw little-endian float32 of the given dims (an empty dims list after the
// colon is a scalar). Every model output is written to OUTDIR/<index>.bin as raw float32,
// and OUTDIR/outputs.json lists [{"name", "dims", "file"}] in the model's output order.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [modelPath, outDir, ...specs] = process.argv.slice(2);
  if (!modelPath || !outDir) throw new Error('usage: ort_run.js MODEL.onnx OUTDIR NAME=FILE:DIMS ...');
  const ort = require('onnxruntime-node');
  const feeds = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(.*):([0-9x]*)$/.exec(spec);
    if (!m) throw new Error(`bad input spec '${spec}' (expected NAME=FILE:D0xD1x...)`);
    const dims = m[3] === '' ? [] : m[3].split('x').map(Number);
    const bytes = fs.readFileSync(m[2]);
    const count = dims.reduce((a, b) => a * b, 1);
    if (bytes.length !== 4 * count) throw new Error(`${m[2]}: ${bytes.length} bytes, dims [${dims}] need ${4 * count}`);
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    feeds[m[1]] = new ort.Tensor('float32', data, dims);
  }
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'],
  });
  const results = await session.run(feeds);
  const listing = [];
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, not float32`);
    const file = path.join(outDir, `${i}.bin`);
    fs.writeFileSync(file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    listing.push({ name, dims: t.dims.map(Number), file });
  });
  fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify(listing));
}

main().catch((e) => {
  process.stderr.write(`ort_run.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
