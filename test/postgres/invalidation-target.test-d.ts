import { expectTypeOf, test } from 'vitest';
import type { AuthorizationCache } from '../../src/index.js';
import type { InvalidationScope, InvalidationTarget, PostgresInvalidationListenerOptions } from '../../src/postgres.js';

test('an AuthorizationCache is what the listener drives', () => {
  expectTypeOf<AuthorizationCache>().toExtend<InvalidationTarget>();
  expectTypeOf<PostgresInvalidationListenerOptions['cache']>().toEqualTypeOf<InvalidationTarget>();
  expectTypeOf<{ userId: string }>().toExtend<InvalidationScope>();
  expectTypeOf<{ tag: string }>().toExtend<InvalidationScope>();
  expectTypeOf<{ other: string }>().not.toExtend<InvalidationScope>();
});
