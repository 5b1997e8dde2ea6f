/**
 * The signal handed to work that nothing can cancel (no caller signal, no
 * deadline, no own timeout), and to work that declares no signal parameter
 * (`fn.length === 0`) and so cannot read one. Creating an `AbortSignal` is one of the costliest
 * steps of a wrapper call on Node 20, so such calls share this one, which never
 * aborts (its controller is private), as cockatiel does. Work that adds an
 * `abort` listener to the signal it receives should remove it when done: on a
 * signal that never fires, a `{ once: true }` listener is never released.
 *
 * @example
 * ```ts
 * fn(callerSignal ?? NEVER_ABORTED);
 * ```
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;
