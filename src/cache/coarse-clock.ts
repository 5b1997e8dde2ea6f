/**
 * A wall clock for the L1 hit path that reads `Date.now()` at most about once
 * per millisecond. Reading the clock costs 25–80 ns depending on the machine —
 * as much as the whole L1 lookup — so the hit path asks this clock first and
 * only trusts it where a stale reading cannot change the answer.
 *
 * @module
 */

/**
 * How far from expiry an entry must be for the coarse reading to decide it is fresh.
 * The reading is at most ~1 ms old while the event loop turns; a larger error needs the
 * loop to be stuck for longer than this margin within one turn (when every timer in the
 * process is that late too). Entries closer to expiry are judged on an exact reading.
 *
 * @example
 * ```ts
 * const fresh = entry.expiresAt - coarseNow() > COARSE_MARGIN_MS || entry.expiresAt > Date.now();
 * ```
 */
export const COARSE_MARGIN_MS = 1_000;

// Captured at import: with fake timers installed later (Date or timers replaced), the exact clock is used.
const nativeNow = Date.now;
const nativeSetTimeout = setTimeout;
let cached = 0;

function expire(): void {
  cached = 0;
}

/**
 * Wall-clock ms, possibly up to ~1 ms old (it is re-read after an unref'd 1 ms timer).
 * Falls back to an exact reading when `Date.now` or `setTimeout` has been replaced
 * (fake timers in tests), so `vi.setSystemTime` and friends are always honoured.
 *
 * @example
 * ```ts
 * if (entry.expiresAt - coarseNow() > COARSE_MARGIN_MS) return entry.value; // surely fresh
 * ```
 */
export function coarseNow(): number {
  // A replaced Date.now (fake timers, spies) is always honoured, even within the millisecond.
  if (cached !== 0 && Date.now === nativeNow) return cached;
  const now = Date.now();
  if (Date.now === nativeNow && globalThis.setTimeout === nativeSetTimeout) {
    cached = now;
    nativeSetTimeout(expire, 1).unref();
  }
  return now;
}
