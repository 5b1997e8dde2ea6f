// npx tsx examples/express/server.ts — PORT (default 3000), DATABASE_URL and REDIS_URL optional.
import { createExampleContext } from '../shared/context.js';
import { buildExpressApp } from './app.js';

const ctx = await createExampleContext();
const port = Number(process.env.PORT ?? 3000);
const server = buildExpressApp(ctx).listen(port, '127.0.0.1', () => {
  console.log(`supaguard Express example on http://127.0.0.1:${port} (database: ${ctx.db.kind}); POST /dev/token {"userId": "..."} for a development token`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(async () => {
      await ctx.authorization.close();
      await ctx.auditLog.close();
      await ctx.close();
      process.exit(0);
    });
  });
}
