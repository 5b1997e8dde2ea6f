import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { LazyWebSocket } from '../../src/client/realtime-transport.js';
import { isConfigurationError } from '../../src/errors.js';

const slot = globalThis as { WebSocket?: unknown };
const original = slot.WebSocket;
afterEach(() => {
  if (original === undefined) delete slot.WebSocket;
  else slot.WebSocket = original;
});

describe('LazyWebSocket', () => {
  it('constructs the native WebSocket at connect time when there is one', () => {
    class FakeSocket {
      constructor(
        readonly url: string | URL,
        readonly protocols?: string | string[],
      ) {}
    }
    slot.WebSocket = FakeSocket;
    const socket = new LazyWebSocket('wss://abcd.supabase.co/realtime/v1/websocket', ['phoenix']) as unknown as FakeSocket;
    expect(socket).toBeInstanceOf(FakeSocket);
    expect(socket.url).toBe('wss://abcd.supabase.co/realtime/v1/websocket');
    expect(socket.protocols).toEqual(['phoenix']);
  });

  it('without a native WebSocket, uses "ws" or fails at connect time with ConfigurationError', () => {
    delete slot.WebSocket;
    let wsInstalled = true;
    try {
      createRequire(import.meta.url).resolve('ws');
    } catch {
      wsInstalled = false;
    }
    let caught: unknown;
    try {
      const socket = new LazyWebSocket('ws://127.0.0.1:9/realtime/v1/websocket') as unknown as { on(e: string, f: () => void): void; terminate(): void };
      socket.on('error', () => undefined);
      socket.terminate();
    } catch (err) {
      caught = err;
    }
    if (wsInstalled) {
      expect(caught).toBeUndefined();
      return;
    }
    expect(isConfigurationError(caught)).toBe(true);
    expect((caught as { field: string }).field).toBe('options.realtime.transport');
    expect((caught as Error).message).toContain('ws');
  });
});
