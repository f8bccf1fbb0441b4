import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** Payloads smaller than this go to Redis as they are: compressing them would cost more than it saves. */
export const COMPRESS_ABOVE_BYTES = 16 * 1024;

/** A job's payload: named lists of items (`{ events: […], rejected: […] }`). */
export type JobPayload = Readonly<Record<string, readonly unknown[]>>;

/**
 * Buffers the JSON of large payloads is written into, kept between jobs. Two reasons: V8 builds a
 * multi-megabyte string slowly and Buffer.from copies it into fresh memory slower still (both
 * measured at several times the cost of the compression), while item-sized strings written into
 * memory that is already there cost little. One buffer per job being compressed.
 */
const spareBuffers: Buffer[] = [];
// A buffer grown past this for an unusual job is not kept.
const MAX_SPARE_BYTES = 16 * 1024 * 1024;

class JsonWriter {
  length = 0;
  constructor(public buffer: Buffer) {}

  /** Appends `text`, growing the buffer when it might not fit (UTF-8 takes up to 3 bytes per UTF-16 unit). */
  write(text: string): void {
    if (this.length + text.length * 3 > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + text.length * 3));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length);
  }
}

/** The payload's JSON, item by item, into a spare buffer; the caller gives the buffer back. */
function writeJson(payload: JobPayload): JsonWriter {
  const writer = new JsonWriter(spareBuffers.pop() ?? Buffer.allocUnsafe(4 * 1024 * 1024));
  let separator = '{';
  for (const [key, items] of Object.entries(payload)) {
    writer.write(`${separator}${JSON.stringify(key)}:[`);
    for (let i = 0; i < items.length; i++) writer.write(i === 0 ? JSON.stringify(items[i]) : `,${JSON.stringify(items[i])}`);
    writer.write(']');
    separator = ',';
  }
  writer.write(separator === '{' ? '{}' : '}');
  return writer;
}

/**
 * A job payload as it is stored in Redis. Large ones (`approximateBytes`, the bodies the items
 * came in, at least COMPRESS_ABOVE_BYTES) are Brotli-compressed (quality 1: hundreds of MB/s, in
 * libuv's thread pool) and base64-encoded under `br`: events compress ten times or more, and
 * Redis' work (reading, AOF, memory) grows with the bytes it is given. Small ones go as they are,
 * serialised once, by BullMQ.
 */
export async function encodeJobData(payload: JobPayload, approximateBytes: number): Promise<object> {
  if (approximateBytes < COMPRESS_ABOVE_BYTES) return payload;
  const json = writeJson(payload);
  try {
    const compressed = await compress(json.buffer.subarray(0, json.length), {
      params: { [constants.BROTLI_PARAM_QUALITY]: 1, [constants.BROTLI_PARAM_SIZE_HINT]: json.length },
    });
    return { br: compressed.toString('base64') };
  } finally {
    if (json.buffer.length <= MAX_SPARE_BYTES) spareBuffers.push(json.buffer);
  }
}

/** The payload a producer gave to encodeJobData; anything else comes back as it is (and fails validation). */
export async function decodeJobData(data: unknown): Promise<unknown> {
  if (typeof data !== 'object' || data === null || typeof (data as { br?: unknown }).br !== 'string' || Object.keys(data).length !== 1) return data;
  try {
    return JSON.parse((await decompress(Buffer.from((data as { br: string }).br, 'base64'))).toString('utf8'));
  } catch {
    return data;
  }
}
