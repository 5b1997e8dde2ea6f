// npx tsx examples/fastify/server.ts — PORT (default 3000), DATABASE_URL and REDIS_URL optional.
import { createExampleContext } from '../shared/context.js';
import { buildFastifyApp } from './app.js';

const ctx = await createExampleContext();
const app = await buildFastifyApp(ctx);
// Node's default listen backlog (511) overflows when thousands of clients connect at once: their SYNs are
// dropped and retried seconds later. 4096 is Linux's default net.core.somaxconn (the kernel caps it there).
const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1', backlog: 4096 });
console.log(`supaguard Fastify example on ${url} (database: ${ctx.db.kind}); POST ${url}/dev/token {"userId": "..."} for a development token`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await app.close(); // quits the Redis subscriber, closes the cache, flushes the audit log
    await ctx.close();
    process.exit(0);
  });
}
