import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseBearerAuthorization } from './authorization';

/** SHA-256 of a secret: fixed length, so two can be compared in constant time. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Compares a secret given by a client with the expected one in constant time. */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const digest = (value: string | Buffer) => (typeof value === 'string' ? secretDigest(value) : value);
  return timingSafeEqual(digest(given), digest(expected));
}

/** Lets every request in when `token` is unset, else only those with `Authorization: Bearer <token>`. */
export function bearerTokenCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  if (!token) return () => true;
  const expected = secretDigest(token);
  return (req) => sameSecret(parseBearerAuthorization(req.headers.authorization) ?? '', expected);
}
