import { randomUUID } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { ClientGoneError, InvalidJsonError, PayloadTooLargeError } from '@evt/errors';
import { isPlainObject, type Dictionary } from '@evt/ingest';
import { unstorableValueReason } from '@evt/schemas';
import { bodyInflater, clientGone } from '../http/body';
import { AudienceListScanner } from './audience-list-scanner';
import { parseJsonText, type MemberList } from './audience-list-syntax';
import type { BodyFormat } from './body-format';

/** Members of one list (adds or removes) in request order, from `offset` on. */
export interface MemberChunk {
  list: MemberList;
  offset: number;
  members: Dictionary[];
  /** Their size as JSON text. */
  bytes: number;
}

/**
 * An audience list read and checked whole, kept in a temporary file rather than in memory: its
 * fields are known (they may follow the members in the JSON), its members are read back in chunks.
 */
export interface SpooledAudienceList {
  /** Everything but the members: `properties.listData.add` and `.remove` are `[]` here. */
  fields: unknown;
  /** Size of the (inflated) body. */
  bytes: number;
  /** The first member that cannot be stored, as a reason (`properties.listData.add.3 must be an object`). */
  memberProblem: string | undefined;
  /** The members, adds and removes each in order, in chunks of at most `maxMembers` or about `maxBytes`. */
  chunks(maxMembers: number, maxBytes: number): AsyncGenerator<MemberChunk>;
  /** Closes the temporary file (it was unlinked as soon as created: nothing is left behind, even after a crash). */
  close(): Promise<void>;
}

const READ_CHUNK_BYTES = 64 * 1024;

function memberProblem(list: MemberList, index: number, member: unknown): string | undefined {
  const where = `properties.listData.${list}.${index}`;
  if (!isPlainObject(member)) return `${where} must be an object`;
  return unstorableValueReason(member, where);
}

/** The body as inflated bytes, failing with PayloadTooLargeError past `limit` and ClientGoneError if the client goes. */
function inflatedBody(req: IncomingMessage, limit: number): Readable {
  const decompressing = bodyInflater(req, limit);
  const inflater = decompressing ?? new PassThrough();
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback(size > limit ? new PayloadTooLargeError() : null, chunk);
    },
  });
  // The reader gets the error from its iteration; until it starts (it opens the spool file
  // first), an error emitted with no listener would crash the process.
  counted.on('error', () => undefined);
  decompressing?.on('error', (error) => counted.destroy(new InvalidJsonError({ cause: error })));
  // A client gone before reading began (it waited for the body budget) would never end the stream.
  if (clientGone(req)) throw new ClientGoneError();
  req.on('close', () => (req.complete ? undefined : counted.destroy(new ClientGoneError())));
  // A request destroyed because its client went away emits 'error' (ECONNRESET) before 'close'.
  req.on('error', (error) => counted.destroy(clientGone(req) ? new ClientGoneError() : error));
  req.pipe(inflater).pipe(counted);
  counted.once('close', () => {
    // Whatever made us stop reading, the rest of the body is drained so that the answer can be sent.
    req.unpipe(inflater);
    inflater.destroy();
    req.resume();
  });
  return counted;
}

/**
 * Reads an audience list's body (gzip and deflate inflated) into an unlinked temporary file while
 * checking it: strict JSON, at most `limit` bytes (413 past it), every member an object Postgres
 * can store. Memory stays bounded by one member and the list's other fields (`maxValueBytes` each).
 */
export async function spoolAudienceList(req: IncomingMessage, limit: number, maxValueBytes: number): Promise<SpooledAudienceList> {
  const body = inflatedBody(req, limit);
  const file = path.join(tmpdir(), `evt-audience-list-${randomUUID()}.json`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'wx+', 0o600);
    await rm(file);
    let problem: string | undefined;
    const scanner = new AudienceListScanner((list, index, raw) => {
      const member = parseJsonText(raw); // always: bad JSON anywhere is Invalid JSON, as for any body
      problem ??= memberProblem(list, index, member);
    }, maxValueBytes);
    let bytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      scanner.write(chunk);
      await handle.write(chunk);
      bytes += chunk.length;
    }
    const fields = scanner.end();
    return spooled(handle, fields, bytes, problem, maxValueBytes);
  } catch (error) {
    body.destroy();
    await handle?.close();
    await rm(file, { force: true });
    throw error;
  }
}

function spooled(handle: FileHandle, fields: unknown, bytes: number, problem: string | undefined, maxValueBytes: number): SpooledAudienceList {
  return {
    fields,
    bytes,
    memberProblem: problem,
    async *chunks(maxMembers: number, maxBytes: number) {
      const current: Record<MemberList, MemberChunk> = {
        add: { list: 'add', offset: 0, members: [], bytes: 0 },
        remove: { list: 'remove', offset: 0, members: [], bytes: 0 },
      };
      const full: MemberChunk[] = [];
      const scanner = new AudienceListScanner((list, index, raw) => {
        const chunk = current[list];
        chunk.members.push(JSON.parse(raw.toString('utf8')) as Dictionary);
        chunk.bytes += raw.length + 1;
        if (chunk.members.length >= maxMembers || chunk.bytes >= maxBytes) {
          full.push(chunk);
          current[list] = { list, offset: index + 1, members: [], bytes: 0 };
        }
      }, maxValueBytes);
      for await (const data of handle.createReadStream({ start: 0, autoClose: false, highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
        scanner.write(data);
        while (full.length > 0) yield full.shift() as MemberChunk;
      }
      scanner.end();
      for (const list of ['add', 'remove'] as const) if (current[list].members.length > 0) yield current[list];
    },
    close: () => handle.close(),
  };
}

/**
 * An audience list's body for readRequest: up to MAX_AUDIENCE_LIST_SIZE, spooled and checked
 * whole; Segment's `writeKey` is among its fields. The route closes it once it is enqueued.
 */
export const AUDIENCE_LIST_BODY: BodyFormat<SpooledAudienceList, SpooledAudienceList> = {
  read: (req, deps) => spoolAudienceList(req, deps.config.maxAudienceListSize, deps.config.maxEventSize),
  parse: (list) => list,
  size: (list) => list.bytes,
  writeKeyHolder: (list) => list.fields,
  discard: (list) => list.close(),
};
