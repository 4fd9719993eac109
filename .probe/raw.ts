import { loadNativeArgon2 } from "../src/crypto/argon2_native.ts";
import { OWASP_MINIMUM } from "../src/crypto/passwords.ts";
async function cpu() { const t = await Deno.readTextFile(`/proc/self/stat`); const f = t.slice(t.lastIndexOf(")") + 2).split(" "); return (Number(f[11]) + Number(f[12])) * 10; }
const b = await loadNativeArgon2();
const phc = await b.hash("correct-horse-battery-staple", OWASP_MINIMUM);
const n = 100;
for (let i = 0; i < 5; i++) await b.verify(phc, "correct-horse-battery-staple");
const c0 = await cpu(); const t0 = performance.now(); const lat: number[] = [];
for (let i = 0; i < n; i++) { const s = performance.now(); await b.verify(phc, "correct-horse-battery-staple"); lat.push(performance.now() - s); }
const c1 = await cpu(); const t1 = performance.now(); lat.sort((a, b) => a - b);
console.log(`raw verify ${n}: wall ${((t1 - t0) / n).toFixed(2)} ms, p50 ${lat[n >> 1].toFixed(2)}, cpu/verify ${((c1 - c0) / n).toFixed(2)} ms`);
