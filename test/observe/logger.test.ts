import { describe, expect, it } from 'vitest';
import { createSafeLogger, redactFields, redactText, silentLogger, type LogFields, type Logger } from '../../src/observe/logger.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXNpZw';
const SECRET_KEY = 'sb_secret_abcdefghijklmnop123';

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (fields: LogFields, message?: string) => lines.push(JSON.stringify({ level, ...fields, msg: message }));
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('redactFields', () => {
  it('redacts secret-named fields at any depth and keeps the rest', () => {
    const out = redactFields({
      userId: 'u1',
      token: JWT,
      headers: { authorization: `Bearer ${JWT}`, 'x-request-id': 'r1' },
      serviceRoleKey: SECRET_KEY,
      apiKey: 'k',
      password: 'p',
      keys: 3,
      layers: [{ name: 'redis', secret: 's' }],
    });
    expect(out).toEqual({
      userId: 'u1',
      token: '[redacted]',
      headers: { authorization: '[redacted]', 'x-request-id': 'r1' },
      serviceRoleKey: '[redacted]',
      apiKey: '[redacted]',
      password: '[redacted]',
      keys: 3,
      layers: [{ name: 'redis', secret: '[redacted]' }],
    });
  });

  it('scrubs JWTs, bearer headers and secret keys inside free text and errors', () => {
    expect(redactText(`got ${JWT} from Bearer abc.def`)).toBe('got [redacted] from [redacted]');
    const err = Object.assign(new Error(`rejected ${JWT} with ${SECRET_KEY}`), { code: 'E_TOKEN_EXPIRED' });
    expect(redactFields({ err })).toEqual({ err: { type: 'Error', code: 'E_TOKEN_EXPIRED', message: 'rejected [redacted] with [redacted]' } });
  });

  it('survives cycles by cutting depth', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => JSON.stringify(redactFields(cyclic))).not.toThrow();
  });
});

describe('createSafeLogger', () => {
  it('is silent without a logger', () => {
    expect(createSafeLogger(undefined)).toBe(silentLogger);
    expect(() => silentLogger.error({ token: JWT }, 'x')).not.toThrow();
  });

  it('never lets a token or key into a captured line, at every level', () => {
    const { logger, lines } = capture();
    const log = createSafeLogger(logger);
    log.debug({ token: JWT }, 'verifying');
    log.info({ header: `Bearer ${JWT}` });
    log.warn({ cause: new Error(`bad ${SECRET_KEY}`) }, `refresh for ${JWT}`);
    log.error({ config: { url: 'https://x.supabase.co', serviceKey: SECRET_KEY } }, 'boot');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(JWT);
      expect(line).not.toContain(SECRET_KEY);
      expect(line).not.toContain('eyJ');
    }
    expect(lines[3]).toContain('https://x.supabase.co');
  });

  it('accepts console as a logger', () => {
    const log = createSafeLogger(console);
    expect(typeof log.info).toBe('function');
  });
});
