import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './services.js';

/** A loopback TCP proxy that a test can stop (every connection cut) and start again on the same port. */
export interface TcpProxy {
  readonly port: number;
  /** Close the listener and destroy every open connection, like a database going away. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
}

/** Starts a proxy from a free loopback port to `targetHost:targetPort`. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect({ host: targetHost, port: targetPort });
        sockets.add(client).add(upstream);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server?.listening) return resolve();
      server.close(() => resolve());
    });
  await start();
  return { port, stop, start };
}
