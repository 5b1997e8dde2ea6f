/**
 * The logger contract supaguard components accept: pino's `{ debug, info, warn, error }`
 * shape, called as `log.warn({ fields }, 'message')`. Silent by default; every call goes
 * through {@link createSafeLogger} so no token, key or secret reaches the log.
 *
 * @module
 */

/** Structured fields of one log line. */
export type LogFields = Record<string, unknown>;

/** One log method, pino style: fields first, then the message. */
export type LogMethod = (fields: LogFields, message?: string) => void;

/**
 * A logger with pino's shape. A pino logger, a pino child, or `console` fit as is.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const cache = createAuthorizationCache({ layers, loader, logger: pino() });
 * ```
 */
export interface Logger {
  /** Detail for troubleshooting. */
  debug: LogMethod;
  /** Normal operation worth recording (a recovery, a reconnect). */
  info: LogMethod;
  /** Degraded but answering (a layer failed, an alert). */
  warn: LogMethod;
  /** A failure the caller saw. */
  error: LogMethod;
}

const noop: LogMethod = () => {};

/**
 * The default logger: drops everything.
 *
 * @example
 * ```ts
 * const log = options.logger ?? silentLogger;
 * ```
 */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** What replaces a secret value. */
export const REDACTED = '[redacted]';

// Field names whose values are secrets, whatever they hold.
const SECRET_FIELD = /token|secret|passw(or)?d|authori[sz]ation|cookie|api[-_]?key|service[-_]?(role[-_]?)?key|private[-_]?key|signing[-_]?key|jwt|credential|bearer|signature|^key$|^apikey$/i;
// Secret-looking substrings inside any string: JWTs/JWS, bearer headers, Supabase secret keys.
const SECRET_TEXT = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*|bearer\s+\S+|sb_secret_\w+/gi;
const MAX_DEPTH = 4;

/**
 * Replaces secret-looking substrings (JWTs, `Bearer …`, Supabase secret keys) in a string.
 *
 * @example
 * ```ts
 * redactText(`bad header: Bearer ${token}`); // 'bad header: [redacted]'
 * ```
 */
export function redactText(text: string): string {
  return text.replace(SECRET_TEXT, REDACTED);
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[object]';
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { type: value.name, ...(code === undefined ? {} : { code }), message: redactText(value.message) };
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  return redactObject(value as LogFields, depth + 1);
}

function redactObject(fields: LogFields, depth: number): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = SECRET_FIELD.test(name) && value !== undefined && value !== null ? REDACTED : redactValue(value, depth);
  }
  return out;
}

/**
 * Returns a copy of `fields` that is safe to log: values of secret-named fields
 * (`token`, `authorization`, `apiKey`, `serviceRoleKey`, `password` …) become `[redacted]`,
 * JWTs and bearer strings inside any string are replaced, errors become
 * `{ type, code, message }`, nesting is cut at four levels.
 *
 * @example
 * ```ts
 * redactFields({ userId: 'u1', token: 'eyJ…' }); // { userId: 'u1', token: '[redacted]' }
 * ```
 */
export function redactFields(fields: LogFields): LogFields {
  return redactObject(fields, 0);
}

/**
 * Wraps a logger so that every line passes through {@link redactFields} and
 * {@link redactText}; `undefined` gives {@link silentLogger}. Components call this once
 * on the `logger` option they receive.
 *
 * @param logger - the user's logger (pino, a pino child, console…), or undefined
 * @example
 * ```ts
 * const log = createSafeLogger(options.logger);
 * log.warn({ err, layer: 'redis' }, 'layer failed, serving from memory');
 * ```
 */
export function createSafeLogger(logger: Logger | undefined): Logger {
  if (logger === undefined || logger === silentLogger) return silentLogger;
  const wrap =
    (level: keyof Logger): LogMethod =>
    (fields, message) => {
      const safe = redactFields(fields);
      // Called as a method so pino keeps its `this`.
      if (message === undefined) logger[level](safe);
      else logger[level](safe, redactText(message));
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
