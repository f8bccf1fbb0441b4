import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** Payloads smaller than this go to Redis as they are: compressing them would cost more than it saves. */
export const COMPRESS_ABOVE_BYTES = 16 * 1024;

/**
 * A job payload as it is stored in Redis. Large ones are Brotli-compressed (quality 1: hundreds of
 * MB/s, in libuv's thread pool) and base64-encoded under `br`: events compress ten times or more,
 * and Redis' work (reading, AOF, memory) grows with the bytes it is given.
 */
export async function encodeJobData(payload: object): Promise<object> {
  const json = JSON.stringify(payload);
  if (json.length < COMPRESS_ABOVE_BYTES) return payload;
  const compressed = await compress(Buffer.from(json), {
    params: { [constants.BROTLI_PARAM_QUALITY]: 1, [constants.BROTLI_PARAM_SIZE_HINT]: json.length },
  });
  return { br: compressed.toString('base64') };
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
