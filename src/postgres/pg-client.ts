import { ConfigurationError } from '../errors.js';

/** A pg `Notification` as the listener reads it. */
export interface PgNotification {
  channel: string;
  payload?: string | undefined;
}

/**
 * The part of a `pg.Client` the listener uses. Any pg 8 client fits; a test can
 * pass its own. A client is connected once: the listener asks for a new one
 * after every disconnect.
 */
export interface PgListenClient {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  end(): Promise<unknown>;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

interface PgModule {
  Client: new (config: Record<string, unknown>) => PgListenClient;
}

/**
 * Loads the optional `pg` peer, or explains how to install it.
 *
 * @throws {@link ConfigurationError} (`field` `pg`) when pg is not installed.
 * @example
 * ```ts
 * const { Client } = await loadPg();
 * ```
 */
export async function loadPg(): Promise<PgModule> {
  try {
    const mod = (await import('pg')) as unknown as PgModule & { default?: PgModule };
    return mod.default ?? mod;
  } catch (cause) {
    throw new ConfigurationError('pg', 'is not installed: run `npm install pg` to use supaguard/postgres', { cause });
  }
}
