import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { ClientGoneError, InvalidJsonError, InvalidRequestError, PayloadTooLargeError } from '@evt/errors';

/** Bytes held from a BodyBudget; `release()` gives them back once (later calls do nothing). */
export interface BodyReservation {
  readonly bytes: number;
  release(): void;
}

interface Waiter {
  bytes: number;
  admit(reservation: BodyReservation): void;
  cancel(): void;
}

/**
 * Bytes of request bodies held in memory at once, across all requests of the process. A request
 * is read only once its size fits in what is left (FIFO; one request alone is always admitted);
 * the others wait unread, their clients held back by TCP: a thousand clients uploading 4 MB each
 * cost the bound, not 4 GB. A waiter whose client has gone leaves the queue at once (never
 * admitted), so an abandoned upload, however large, holds nobody back.
 */
export class BodyBudget {
  private held = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly maxBytes: number) {}

  /** Bytes reserved now (for metrics and tests). */
  get used(): number {
    return this.held;
  }

  /** Requests waiting for room now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves once `bytes` may be held. If `signal` aborts first (the client went away), the wait
   * ends with ClientGoneError and nothing is held.
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<BodyReservation> {
    if (signal?.aborted) return Promise.reject(new ClientGoneError());
    if (this.waiting.length === 0 && this.fits(bytes)) return Promise.resolve(this.reserve(bytes));
    return new Promise<BodyReservation>((resolve, reject) => {
      const onAbort = () => waiter.cancel();
      const waiter: Waiter = {
        bytes,
        admit: (reservation) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(reservation);
        },
        cancel: () => {
          const index = this.waiting.indexOf(waiter);
          if (index === -1) return; // already admitted: the reader sees the closed request
          this.waiting.splice(index, 1);
          reject(new ClientGoneError());
          // The one that left may have been what kept the next ones out (an oversized body at the head).
          this.admitWhatFits();
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private reserve(bytes: number): BodyReservation {
    this.held += bytes;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.held -= bytes;
        this.admitWhatFits();
      },
    };
  }

  private admitWhatFits(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift() as Waiter;
      next.admit(this.reserve(next.bytes));
    }
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.maxBytes;
  }
}

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
  const reservation = await budget.acquire(declared ?? Math.min(limit, UNKNOWN_SIZE_RESERVATION), requestGone(req));
  try {
    return await readBody(req, limit);
  } finally {
    reservation.release();
  }
}

function contentEncoding(req: IncomingMessage): string {
  return String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
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
