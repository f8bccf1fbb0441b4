import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a secret: fixed length, so two can be compared in constant time. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Compares a secret given by a client with the expected one in constant time. */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const digest = (value: string | Buffer) => (typeof value === 'string' ? secretDigest(value) : value);
  return timingSafeEqual(digest(given), digest(expected));
}
