import { promisify } from 'node:util';
import { brotliDecompress, brotliDecompressSync, deflateRaw, inflateRaw, inflateRawSync } from 'node:zlib';

const compress = promisify(deflateRaw);
const inflate = promisify(inflateRaw);
const brotliInflate = promisify(brotliDecompress);

/**
 * Raw deflate at level 1 with a 16 KB window: measured on 36 KB of events, 5× less CPU than
 * Brotli at quality 1 (whose per-call state of megabytes cost more than the compressing, much of
 * it in the kernel), for 12 % more bytes; both make events 20× smaller.
 */
const DEFLATE_OPTIONS = { level: 1, windowBits: 14, memLevel: 7 };

/** Payloads smaller than this go to Redis as JSON text: compressing them would cost more than it saves. */
export const COMPRESS_ABOVE_BYTES = 16 * 1024;

/**
 * Buffers jobs are written in, kept between jobs: fresh memory costs page faults, and many
 * short-lived large Buffers make V8 collect its whole heap to free them (measured: a fifth of the
 * gateway's time went to GC when each request had a Buffer of its own).
 */
const spareBuffers: Buffer[] = [];
// At most 8 × 8 MB kept while idle; jobs carry at most ENQUEUE_MAX_BYTES (4 MB) of bodies.
const MAX_SPARE_BUFFERS = 8;
// A buffer grown past this for an unusual job is not kept.
const MAX_SPARE_BYTES = 8 * 1024 * 1024;

/** JSON text appended to a growing buffer. */
class JsonWriter {
  length = 0;
  buffer: Buffer;

  constructor() {
    this.buffer = spareBuffers.pop() ?? Buffer.allocUnsafe(64 * 1024);
  }

  /** Appends `text`, growing the buffer when it might not fit (UTF-8 takes up to 3 bytes per UTF-16 unit). */
  write(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length);
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  get bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** Gives the buffer back for another job; the writer is not used again. */
  release(): void {
    if (spareBuffers.length < MAX_SPARE_BUFFERS && this.buffer.length <= MAX_SPARE_BYTES) spareBuffers.push(this.buffer);
    this.buffer = Buffer.alloc(0);
    this.length = 0;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** Where one request's items lie in a JobBuilder: byte ranges of its two lists. */
export interface ItemsRange {
  items: [number, number];
  rejected: [number, number];
}

const COMMA = 0x2c;
const SPACE = 0x20;

/**
 * A job's JSON (`{"<itemsKey>":[…],"rejected":[…]}`), written as requests are handed in: each
 * request's items are serialized at once, so the parsed events die young instead of living on
 * (and being promoted, then swept by full collections) while the job waits for Redis. Every item
 * is written with a leading comma; the first one's becomes a space when the job is sealed.
 */
export class JobBuilder {
  private readonly items = new JsonWriter();
  private rejected: JsonWriter | undefined;
  private readonly head: number;
  /** Items and rejected items added with add(). */
  count = 0;

  constructor(private readonly itemsKey: string) {
    this.items.write(`{${JSON.stringify(itemsKey)}:[`);
    this.head = this.items.length;
  }

  /** Appends one request's items; says where they lie (to leave them out again, see without). */
  add(items: readonly unknown[], rejected: readonly unknown[]): ItemsRange {
    const itemsStart = this.items.length;
    const rejectedStart = this.rejected?.length ?? 0;
    try {
      for (const item of items) this.items.write(`,${JSON.stringify(item)}`);
      if (rejected.length > 0) {
        this.rejected ??= new JsonWriter();
        for (const item of rejected) this.rejected.write(`,${JSON.stringify(item)}`);
      }
    } catch (error) {
      // Nothing JSON.parse made can fail here; whatever could must not leave half an item in the job.
      this.items.length = itemsStart;
      if (this.rejected) this.rejected.length = rejectedStart;
      throw error;
    }
    this.count += items.length + rejected.length;
    return { items: [itemsStart, this.items.length], rejected: [rejectedStart, this.rejected?.length ?? 0] };
  }

  /** A new job holding only the requests at `keep` (those whose clients still wait); this one is released. */
  without(keep: readonly ItemsRange[]): JobBuilder {
    const kept = new JobBuilder(this.itemsKey);
    for (const range of keep) {
      kept.items.append(this.items.buffer.subarray(range.items[0], range.items[1]));
      if (range.rejected[1] > range.rejected[0]) {
        kept.rejected ??= new JsonWriter();
        kept.rejected.append((this.rejected as JsonWriter).buffer.subarray(range.rejected[0], range.rejected[1]));
      }
    }
    this.release();
    return kept;
  }

  /** The job's whole JSON; nothing may be added after. */
  seal(): Buffer {
    if (this.items.length > this.head) this.items.buffer[this.head] = SPACE;
    this.items.write('],"rejected":[');
    if (this.rejected && this.rejected.length > 0) {
      const start = this.items.length;
      this.items.append(this.rejected.bytes);
      if (this.items.buffer[start] === COMMA) this.items.buffer[start] = SPACE;
    }
    this.items.write(']}');
    return this.items.bytes;
  }

  release(): void {
    this.items.release();
    this.rejected?.release();
  }
}

/**
 * A sealed job as it is stored in Redis. Large ones (`approximateBytes`, the bodies the items came
 * in, at least COMPRESS_ABOVE_BYTES) are deflated (DEFLATE_OPTIONS, in libuv's thread pool) and
 * base64-encoded under `z`: events compress ten times or more, and Redis' work (reading, AOF,
 * memory) grows with the bytes it is given. Small ones go as JSON text under `json`.
 */
export async function encodeJob(json: Buffer, approximateBytes: number): Promise<object> {
  if (approximateBytes < COMPRESS_ABOVE_BYTES) return { json: json.toString('utf8') };
  return { z: (await compress(json, DEFLATE_OPTIONS)).toString('base64') };
}

/** A payload `{ [itemsKey]: items, rejected }` encoded as the producers do (for tests and tools that write jobs themselves). */
export async function encodeJobData(itemsKey: string, items: readonly unknown[], rejected: readonly unknown[], approximateBytes: number): Promise<object> {
  const job = new JobBuilder(itemsKey);
  job.add(items, rejected);
  try {
    return await encodeJob(job.seal(), approximateBytes);
  } finally {
    job.release();
  }
}

type Encoding = 'json' | 'z' | 'br';

/** How `data` was encoded by encodeJob (or by an earlier version: `br`), with its one string; undefined for anything else. */
function encodingOf(data: unknown): { encoding: Encoding; text: string } | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const keys = Object.keys(data);
  if (keys.length !== 1 || !['json', 'z', 'br'].includes(keys[0])) return undefined;
  const text = (data as Record<string, unknown>)[keys[0]];
  return typeof text === 'string' ? { encoding: keys[0] as Encoding, text } : undefined;
}

/**
 * The payload a producer gave to encodeJob; anything else (a job written as a plain object, by an
 * earlier version or by hand) comes back as it is, and what cannot be read fails validation.
 * Inflates in libuv's thread pool.
 */
export async function decodeJobData(data: unknown): Promise<unknown> {
  const encoded = encodingOf(data);
  if (!encoded) return data;
  try {
    if (encoded.encoding === 'json') return JSON.parse(encoded.text);
    const bytes = Buffer.from(encoded.text, 'base64');
    return JSON.parse((await (encoded.encoding === 'z' ? inflate(bytes) : brotliInflate(bytes))).toString('utf8'));
  } catch {
    return data;
  }
}

/** decodeJobData on the calling thread, for callers that cannot wait (the dashboard's formatter). */
export function decodeJobDataSync(data: unknown): unknown {
  const encoded = encodingOf(data);
  if (!encoded) return data;
  try {
    if (encoded.encoding === 'json') return JSON.parse(encoded.text);
    const bytes = Buffer.from(encoded.text, 'base64');
    return JSON.parse((encoded.encoding === 'z' ? inflateRawSync(bytes) : brotliDecompressSync(bytes)).toString('utf8'));
  } catch {
    return data;
  }
}
