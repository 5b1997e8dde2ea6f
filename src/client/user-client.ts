import type { SupabaseClient } from '@supabase/supabase-js';
import { TokenMalformedError, TokenMissingError } from '../errors.js';
import type { SupabaseConfig } from './config.js';
import { sharedFetch } from './http-pool.js';
import { getSupabaseClient } from './registry.js';

/**
 * A query-only client that runs PostgREST requests as one user (RLS applies):
 * `from`, `rpc` and `schema`, exactly as on a `SupabaseClient`.
 */
export type UserClient<Database = any> = Pick<SupabaseClient<Database>, 'from' | 'rpc' | 'schema'>;

type PostgrestCtor = new (
  url: string,
  options: {
    headers: Record<string, string>;
    schema?: string | undefined;
    fetch: typeof fetch;
    timeout?: number | undefined;
    urlLengthLimit?: number | undefined;
    retry?: boolean;
  },
) => UserClient;

interface UserClientTemplate {
  Ctor: PostgrestCtor;
  url: string;
  /** Lower-case header names, without `authorization` (set per call). */
  headers: Record<string, string>;
  schema: string | undefined;
  fetch: typeof fetch;
  timeout: number | undefined;
  urlLengthLimit: number | undefined;
}

interface RestClientInternals {
  constructor: PostgrestCtor;
  url: string;
  headers: Headers;
}

// One template per registered client, computed once: the per-call work is one
// header object and one constructor. Keyed by the client, so resetting the
// registry drops the templates too.
const templates = new WeakMap<object, UserClientTemplate>();

function template(config: SupabaseConfig<string>): UserClientTemplate {
  const client = getSupabaseClient(config);
  let found = templates.get(client);
  if (found === undefined) {
    const rest = (client as unknown as { rest: RestClientInternals }).rest;
    const options = config.options ?? {};
    // The registry client's global headers (X-Client-Info and the caller's own),
    // lower-cased so the per-call `authorization` can never be doubled by a
    // differently-cased copy.
    const headers: Record<string, string> = {};
    rest.headers.forEach((value, name) => {
      if (name !== 'authorization') headers[name] = value;
    });
    headers.apikey = config.key;
    found = {
      // The PostgREST client class supabase-js itself uses; no second copy of postgrest-js is needed.
      Ctor: rest.constructor,
      url: rest.url,
      headers,
      schema: options.db?.schema,
      fetch: options.global?.fetch ?? sharedFetch(),
      timeout: options.db?.timeout,
      urlLengthLimit: options.db?.urlLengthLimit,
    };
    templates.set(client, found);
  }
  return found;
}

const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * A cheap per-user query client: PostgREST requests carry the user's access
 * token, so row-level security applies, but no auth client, timer or listener is
 * created per call and every request uses the shared keep-alive pool. Automatic
 * GET retries of postgrest-js are off (they sleep up to 7 s); use `runQuery`
 * with a deadline and supaguard's `retry` where a retry is wanted.
 *
 * The token is not verified here — verify it first with `createAccessTokenVerifier`.
 *
 * @param config - The project's URL and publishable (anon) key.
 * @param accessToken - The user's access token (JWT).
 * @throws {@link index.TokenMissingError | TokenMissingError} when the token is empty.
 * @throws {@link index.TokenMalformedError | TokenMalformedError} when it contains characters a header cannot carry.
 * @throws {@link index.ConfigurationError | ConfigurationError} when the config is invalid.
 * @example
 * ```ts
 * const db = getUserClient({ url, key: publishableKey }, claimsToken);
 * const { data } = await runQuery(db.from('projects').select('*').eq('id', id), { timeoutMs: 200 });
 * ```
 */
export function getUserClient<Database = any>(config: SupabaseConfig<string>, accessToken: string): UserClient<Database> {
  if (typeof accessToken !== 'string' || accessToken.length === 0) throw new TokenMissingError();
  if (!HEADER_SAFE.test(accessToken)) throw new TokenMalformedError('The access token contains characters not allowed in a header');
  const t = template(config);
  return new t.Ctor(t.url, {
    headers: { ...t.headers, authorization: `Bearer ${accessToken}` },
    schema: t.schema,
    fetch: t.fetch,
    timeout: t.timeout,
    urlLengthLimit: t.urlLengthLimit,
    retry: false,
  }) as UserClient<Database>;
}
