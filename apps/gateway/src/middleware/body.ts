import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { InvalidJsonError, InvalidRequestError, PayloadTooLargeError } from '@evt/errors';

/**
 * Bytes of request bodies held in memory at once, across all requests of the process. A request
 * is read only once its size fits in what is left (FIFO; one request alone is always admitted);
 * the others wait unread, their clients held back by TCP: a thousand clients uploading 4 MB each
 * cost the bound, not 4 GB.
 */
export class BodyBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; admit: () => void }> = [];

  constructor(readonly maxBytes: number) {}

  /** Resolves once `bytes` may be held. */
  acquire(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return Promise.resolve();
    }
    return new Promise((admit) => this.waiting.push({ bytes, admit }));
  }

  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift() as { bytes: number; admit: () => void };
      this.used += next.bytes;
      next.admit();
    }
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.maxBytes;
  }
}

// What a body of unknown size (chunked, compressed) reserves before it is read.
const UNKNOWN_SIZE_RESERVATION = 256 * 1024;

/** Reads the body as readBody does, within `budget`. */
export async function readBodyWithin(req: IncomingMessage, limit: number, budget: BodyBudget): Promise<Buffer> {
  const declared = declaredPlainLength(req);
  if (declared !== undefined && declared > limit) throw new PayloadTooLargeError();
  const reserved = declared ?? Math.min(limit, UNKNOWN_SIZE_RESERVATION);
  await budget.acquire(reserved);
  try {
    return await readBody(req, limit);
  } finally {
    budget.release(reserved);
  }
}

function contentEncoding(req: IncomingMessage): string {
  return String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
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
  const encoding = contentEncoding(req);
  const declared = declaredPlainLength(req);
  if (declared !== undefined && declared > limit) return Promise.reject(new PayloadTooLargeError());
  let inflater: Gunzip | Inflate | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = createGunzip();
  else if (encoding === 'deflate') inflater = createInflate();
  else if (encoding !== 'identity' && encoding !== '') {
    return Promise.reject(new InvalidJsonError());
  }

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
    source.on('end', () => finish());
    source.on('error', (error) => finish(inflater ? new InvalidJsonError({ cause: error }) : error));
    req.on('aborted', () => finish(new InvalidJsonError()));
    if (inflater) {
      req.on('error', (error) => finish(error));
      req.pipe(inflater);
    }
  });
}

/** Deeper JSON is refused: nothing real nests this far, and deeper would overflow recursive code. */
export const MAX_JSON_DEPTH = 128;

/** True when the JSON text nests objects and arrays deeper than `limit` (strings are skipped). */
export function nestedDeeperThan(bytes: Uint8Array, limit: number): boolean {
  if (bytes.length <= 2 * limit) return false; // each level needs an opening and a closing byte
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Parses a body as JSON whatever its Content-Type says (SDKs label JSON as form or text). */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new InvalidJsonError();
  if (nestedDeeperThan(bytes, MAX_JSON_DEPTH)) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidJsonError({ cause: error });
  }
}
