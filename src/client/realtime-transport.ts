import { createRequire } from 'node:module';
import { ConfigurationError } from '../errors.js';

type WebSocketCtor = new (url: string | URL, protocols?: string | string[]) => unknown;

/**
 * A WebSocket constructor that is resolved only when realtime actually connects.
 * supabase-js builds its realtime client eagerly, and on Node 20 (no native
 * WebSocket) that throws at `createClient()` time. Servers rarely need realtime,
 * so creation must never crash: this stand-in defers the choice to connect time
 * and then uses the native `WebSocket` (Node 22+) or the `ws` package.
 *
 * @example
 * ```ts
 * getSupabaseClient({ url, key, options: { realtime: { transport: ws } } }); // or rely on LazyWebSocket
 * ```
 */
export class LazyWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    const Native = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    const Ctor = Native ?? loadWs();
    // Returning an object from a constructor replaces `this`: callers get a real socket.
    return new Ctor(url, protocols) as LazyWebSocket;
  }
}

function loadWs(): WebSocketCtor {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('ws') as WebSocketCtor | { WebSocket: WebSocketCtor };
    return typeof mod === 'function' ? mod : mod.WebSocket;
  } catch (cause) {
    throw new ConfigurationError(
      'options.realtime.transport',
      'is needed for realtime on Node < 22: install "ws" and pass it as options.realtime.transport, or run Node 22+',
      { cause },
    );
  }
}
