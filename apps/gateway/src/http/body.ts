import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { ClientGoneError, InvalidJsonError, PayloadTooLargeError } from '@evt/errors';
import type { BodyBudget } from './body-budget';

/** True when the request's client closed its connection before the whole body came in. */
export function clientGone(req: IncomingMessage): boolean {
  return (req.destroyed || req.readableAborted) && !req.complete;
}

/** A signal that aborts when the request's client goes away before its body is complete (at once if it already has). */
export function requestGone(req: IncomingMessage): AbortSignal {
  const controller = new AbortController();
  if (clientGone(req)) controller.abort();
  else req.once('close', () => (req.complete ? undefined : controller.abort()));
  return controller.signal;
}

// What a body of unknown size (chunked, compressed) reserves before it is read.
const UNKNOWN_SIZE_RESERVATION = 256 * 1024;

/** Reads the body as readBody does, within `budget`; what it reserved is given back however the read ends. */
export async function readBodyWithin(req: IncomingMessage, limit: number, budget: BodyBudget): Promise<Buffer> {
  const declared = declaredPlainLength(req);
  if (declared !== undefined && declared > limit) throw new PayloadTooLargeError();
  const bytes = declared ?? Math.min(limit, UNKNOWN_SIZE_RESERVATION);
  // Only a request that must wait needs to know when its client leaves.
  const reservation = budget.tryAcquire(bytes) ?? (await budget.acquire(bytes, requestGone(req)));
  try {
    return await readBody(req, limit);
  } finally {
    reservation.release();
  }
}

function contentEncoding(req: IncomingMessage): string {
  return String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
}

/**
 * The inflater a body's Content-Encoding needs (undefined when it is not compressed). Throws the
 * answer for a body that cannot be read: an unknown encoding (400), or an uncompressed one whose
 * Content-Length is over `limit` (413, before a byte is read).
 */
export function bodyInflater(req: IncomingMessage, limit: number): Gunzip | Inflate | undefined {
  const declared = declaredPlainLength(req);
  if (declared !== undefined && declared > limit) throw new PayloadTooLargeError();
  const encoding = contentEncoding(req);
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip();
  if (encoding === 'deflate') return createInflate();
  if (encoding !== 'identity' && encoding !== '') throw new InvalidJsonError();
  return undefined;
}

/** The Content-Length of an uncompressed body (what it will weigh once read), when declared. */
function declaredPlainLength(req: IncomingMessage): number | undefined {
  const encoding = contentEncoding(req);
  const declared = Number(req.headers['content-length']);
  return (encoding === 'identity' || encoding === '') && req.headers['content-length'] !== undefined && Number.isFinite(declared) ? declared : undefined;
}

/**
 * Reads the whole body, inflating gzip or deflate, and stops as soon as more than `limit`
 * bytes have come out: a 50 MB gzip bomb costs `limit` bytes of memory, not 50 GB.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  let inflater: Gunzip | Inflate | undefined;
  try {
    inflater = bodyInflater(req, limit);
  } catch (error) {
    return Promise.reject(error);
  }
  // A request whose client has already gone will never send 'end' (its 'close' has fired too).
  if (clientGone(req)) return Promise.reject(new ClientGoneError());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      if (error) {
        if (inflater) inflater.destroy();
        req.unpipe();
        req.resume(); // drain what is left so the connection can answer
        reject(error);
      } else {
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      }
    };
    const source = inflater ?? req;
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(new PayloadTooLargeError());
      chunks.push(chunk);
    });
    // A request destroyed because its client went away also emits 'error' (ECONNRESET) before 'close'.
    const failed = (error: Error) => finish(clientGone(req) ? new ClientGoneError() : error);
    source.on('end', () => finish());
    source.on('error', (error) => failed(inflater ? new InvalidJsonError({ cause: error }) : error));
    // After a complete body, 'close' may come before the inflater's 'end': only an incomplete one fails.
    req.on('close', () => (req.complete ? undefined : finish(new ClientGoneError())));
    if (inflater) {
      req.on('error', failed);
      req.pipe(inflater);
    }
  });
}
