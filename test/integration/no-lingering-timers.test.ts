import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Runs the built package (`npm test` builds first) in a fresh Node process:
// what matters is that a user's process can exit while supaguard timers are pending.
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

const script = `
import * as sg from './dist/index.js';
const never = () => new Promise(() => {});
const hour = 3_600_000;

// Settled work: every timer must have been cleared or unref'd.
await sg.withTimeout(async () => 1, { ms: hour });
await sg.withDeadline(hour, async () => sg.withTimeout(async () => 2, { ms: hour }));
await sg.withDeadline(hour, async () => { throw new Error('x'); }).catch(() => {});
const ok = sg.createCircuitBreaker(async () => 'ok', { name: 'ok', timeoutMs: hour, resetTimeoutMs: hour });
await ok.fire();
const broken = sg.createCircuitBreaker(async () => { throw new Error('down'); }, { name: 'broken', volumeThreshold: 1, resetTimeoutMs: hour });
await broken.fire().catch(() => {});
if (broken.state !== 'open') throw new Error('expected an open breaker (its reset timer is pending)');
let n = 0;
await sg.retry(async () => { if (n++ === 0) throw new Error('ECONNRESET'); return 3; }, { idempotent: true, baseMs: 1, maxMs: 2 });

// Work still pending when the script ends: its timers must not hold the process.
sg.withTimeout(never, { ms: hour }).catch(() => {});
sg.withDeadline(hour, never).catch(() => {});
const bulkhead = sg.createBulkhead({ concurrency: 1, queue: 1, queueTimeoutMs: hour });
bulkhead.execute(never).catch(() => {});
bulkhead.execute(async () => 4).catch(() => {});
// (A retry that is still backing off is pending work, not a leftover timer: its
// sleep keeps the process alive on purpose, so it is not in this list.)
console.log('SCRIPT_DONE', sg.listCircuitBreakers().length);
`;

describe('process exit', () => {
  it('no supaguard timer keeps the process alive after the work ends', async () => {
    const started = performance.now();
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root, timeout: 20_000 });
    const elapsedMs = performance.now() - started;
    expect(stdout.trim()).toBe('SCRIPT_DONE 2');
    // An hour-long timer that held the process would hit the 20 s execFile timeout instead.
    expect(elapsedMs).toBeLessThan(10_000);
  });
});
