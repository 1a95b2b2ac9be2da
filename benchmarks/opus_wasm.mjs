// The customer page's Opus in WebAssembly (static/vendor/evan-opus/opus.wasm, as static/customer/opus-wasm.js
// drives it: 48 kHz mono, 20 ms, voip, 32 kb/s): milliseconds per frame to encode and decode, in Node's V8
// (Chromium's engine). Run from the repository: node benchmarks/opus_wasm.mjs
import fs from 'fs';
const bytes = fs.readFileSync(new URL('../anysupport/static/vendor/evan-opus/opus.wasm', import.meta.url));
const ignore = () => 0;
const {instance} = await WebAssembly.instantiate(bytes, {wasi_snapshot_preview1: {fd_seek: ignore, fd_write: ignore, fd_close: ignore, proc_exit: ignore}, env: {emscripten_notify_memory_growth: () => {}}});
const o = instance.exports;
const enc = o.malloc(o.opus_encoder_get_size(1)); o.opus_encoder_init(enc, 48000, 1, 2048); o.opus_encoder_ctl_set(enc, 4002, 32000);
const dec = o.malloc(o.opus_decoder_get_size(1)); o.opus_decoder_init(dec, 48000, 1);
const pcm = o.malloc(5760*2), pk = o.malloc(4000);
const N = 2000; let t0 = performance.now(), bytesOut = 0, td = 0;
for (let f = 0; f < N; f++) {
  const v = new Int16Array(o.memory.buffer, pcm, 960);
  for (let i = 0; i < 960; i++) v[i] = Math.round(8000*Math.sin(2*Math.PI*600*(f*960+i)/48000) + 2000*Math.sin(2*Math.PI*1700*(f*960+i)/48000));
  const n = o.opus_encode(enc, pcm, 960, pk, 4000); bytesOut += n;
  const t1 = performance.now(); o.opus_decode(dec, pk, n, pcm, 5760, 0); td += performance.now() - t1;
}
const total = performance.now() - t0;
console.log(`frames ${N}: encode+fill ${( (total-td)/N).toFixed(3)} ms/frame, decode ${(td/N).toFixed(3)} ms/frame, ${(bytesOut*8/(N*0.02)/1000).toFixed(1)} kb/s`);
