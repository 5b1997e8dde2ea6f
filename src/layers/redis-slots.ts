/**
 * Redis Cluster key slots (CRC16/XMODEM of the key or its `{hash tag}`, mod
 * 16384), so multi-key commands can be split into one command per slot.
 *
 * @module
 */

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

/**
 * The Cluster slot of `key`, honouring the first non-empty `{…}` hash tag.
 *
 * @example
 * ```ts
 * keySlot('authz:{user-1}:r:read') === keySlot('stamp:u:{user-1}'); // true
 * ```
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  let hashed = key;
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  const bytes = Buffer.from(hashed, 'utf8');
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc % 16384;
}

/**
 * Groups key indexes by slot: one multi-key command per group keeps Cluster happy.
 *
 * @example
 * ```ts
 * for (const indexes of groupBySlot(keys).values()) await client.mget(indexes.map((i) => keys[i]));
 * ```
 */
export function groupBySlot(keys: readonly string[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  keys.forEach((key, index) => {
    const slot = keySlot(key);
    const group = groups.get(slot);
    if (group) group.push(index);
    else groups.set(slot, [index]);
  });
  return groups;
}
