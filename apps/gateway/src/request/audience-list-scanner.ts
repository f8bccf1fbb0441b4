import { InvalidJsonError, InvalidRequestError } from '@evt/errors';
import { MAX_JSON_DEPTH } from '../http/json';
import {
  CHILD_ROLE,
  define,
  isScalarEnd,
  isWhitespace,
  MAX_MEMBERS_PER_LIST,
  parseJsonText,
  type ArrayFrame,
  type Capture,
  type Frame,
  type MemberList,
  type ObjectFrame,
} from './audience-list-syntax';

/**
 * Reads an audience list's JSON as it arrives, in bounded memory: each member of
 * `properties.listData.add` and `.remove` is handed to `onMember` as its raw bytes and dropped;
 * everything else (messageId, properties.audienceId, context …, in any order) is kept as `fields`,
 * with `[]` for the member arrays. The text must be strict JSON, as JSON.parse wants it.
 */
export class AudienceListScanner {
  private readonly frames: Frame[] = [];
  private capture: Capture | undefined;
  private rootValue: unknown;
  private done = false;
  private fieldBytes = 0;

  /** `maxValueBytes` bounds one member, and the fields other than the members together. */
  constructor(
    private readonly onMember: (list: MemberList, index: number, raw: Buffer) => void,
    private readonly maxValueBytes: number,
  ) {}

  /** Reads the next bytes; throws InvalidJsonError or InvalidRequestError at the first problem. */
  write(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.capture) {
        i = this.continueCapture(chunk, i);
        continue;
      }
      const c = chunk[i];
      if (isWhitespace(c)) {
        i++;
        continue;
      }
      if (this.done) throw new InvalidJsonError();
      const frame = this.frames[this.frames.length - 1];
      if (!frame) {
        if (c === 0x7b) this.push({ kind: 'object', role: 'root', path: '', target: {}, state: 'firstKeyOrEnd', key: '', streamed: new Set() });
        else this.startCapture('root', c);
        if (c === 0x7b) i++;
        continue;
      }
      i = frame.kind === 'object' ? this.objectByte(frame, c, i) : this.arrayByte(frame, c, i);
    }
  }

  /** The fields other than the members, once the whole text has been written. */
  end(): unknown {
    if (this.capture && this.capture.purpose === 'root' && this.capture.mode === 'scalar') this.finishCapture(Buffer.alloc(0), 0);
    if (!this.done || this.capture) throw new InvalidJsonError();
    return this.rootValue;
  }

  private objectByte(frame: ObjectFrame, c: number, i: number): number {
    switch (frame.state) {
      case 'firstKeyOrEnd':
      case 'key':
        if (c === 0x7d && frame.state === 'firstKeyOrEnd') return this.pop(i);
        if (c !== 0x22) throw new InvalidJsonError();
        this.startCapture('key', c);
        return i;
      case 'colon':
        if (c !== 0x3a) throw new InvalidJsonError();
        frame.state = 'value';
        return i + 1;
      case 'value': {
        const role = CHILD_ROLE[frame.role]?.[frame.key];
        const path = frame.path === '' ? frame.key : `${frame.path}.${frame.key}`;
        const opens = role === 'add' || role === 'remove' ? c === 0x5b : c === 0x7b;
        if (role !== undefined && opens) {
          if (frame.streamed.has(frame.key)) throw new InvalidRequestError(`${path} appears twice`);
          frame.streamed.add(frame.key);
          if (role === 'add' || role === 'remove') {
            define(frame.target, frame.key, []);
            this.push({ kind: 'array', role, path, state: 'firstValueOrEnd', index: 0 });
          } else {
            const target: Record<string, unknown> = {};
            define(frame.target, frame.key, target);
            this.push({ kind: 'object', role, path, target, state: 'firstKeyOrEnd', key: '', streamed: new Set() });
          }
          return i + 1;
        }
        if (frame.streamed.has(frame.key)) throw new InvalidRequestError(`${path} appears twice`);
        if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x3a) throw new InvalidJsonError();
        this.startCapture('value', c);
        return i;
      }
      case 'commaOrEnd':
        if (c === 0x2c) {
          frame.state = 'key';
          return i + 1;
        }
        if (c === 0x7d) return this.pop(i);
        throw new InvalidJsonError();
    }
  }

  private arrayByte(frame: ArrayFrame, c: number, i: number): number {
    if (frame.state === 'commaOrEnd') {
      if (c === 0x2c) {
        frame.state = 'value';
        return i + 1;
      }
      if (c === 0x5d) return this.pop(i);
      throw new InvalidJsonError();
    }
    if (c === 0x5d && frame.state === 'firstValueOrEnd') return this.pop(i);
    if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x3a) throw new InvalidJsonError();
    if (frame.index >= MAX_MEMBERS_PER_LIST) throw new InvalidRequestError(`${frame.path} has more than ${MAX_MEMBERS_PER_LIST} members`);
    this.startCapture('member', c);
    return i;
  }

  private push(frame: Frame): void {
    this.frames.push(frame);
    if (this.frames.length > MAX_JSON_DEPTH) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }

  /** Closes the frame whose closing byte is at `i`. */
  private pop(i: number): number {
    const frame = this.frames.pop() as Frame;
    if (frame.kind === 'object' && frame.role === 'root') this.rootValue = frame.target;
    this.afterValue();
    return i + 1;
  }

  private afterValue(): void {
    const parent = this.frames[this.frames.length - 1];
    if (!parent) this.done = true;
    else parent.state = 'commaOrEnd';
  }

  private startCapture(purpose: Capture['purpose'], first: number): void {
    const mode = first === 0x22 ? 'string' : first === 0x7b || first === 0x5b ? 'container' : 'scalar';
    this.capture = { purpose, pieces: [], size: 0, mode, depth: 0, inString: false, escaped: false };
  }

  /** Scans the captured value from `start`; returns where scanning stops (the chunk's end, or after the value). */
  private continueCapture(chunk: Buffer, start: number): number {
    const capture = this.capture as Capture;
    const n = chunk.length;
    for (let j = start; j < n; j++) {
      const c = chunk[j];
      if (capture.mode === 'scalar') {
        if (isScalarEnd(c)) return this.finishCapture(chunk.subarray(start, j), j);
        continue;
      }
      if (capture.inString) {
        if (capture.escaped) capture.escaped = false;
        else if (c === 0x5c) capture.escaped = true;
        else if (c === 0x22) {
          capture.inString = false;
          if (capture.mode === 'string') return this.finishCapture(chunk.subarray(start, j + 1), j + 1);
        }
        continue;
      }
      if (c === 0x22) {
        if (capture.mode === 'string' && (capture.size > 0 || j > start)) throw new InvalidJsonError();
        capture.inString = true;
      } else if (capture.mode === 'string') {
        throw new InvalidJsonError();
      } else if (c === 0x7b || c === 0x5b) {
        if (++capture.depth + this.frames.length > MAX_JSON_DEPTH) throw new InvalidRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      } else if (c === 0x7d || c === 0x5d) {
        if (--capture.depth === 0) return this.finishCapture(chunk.subarray(start, j + 1), j + 1);
      }
    }
    this.keep(capture, chunk.subarray(start));
    return n;
  }

  private keep(capture: Capture, piece: Buffer): void {
    capture.size += piece.length;
    const limit = capture.purpose === 'member' ? this.maxValueBytes : this.maxValueBytes - this.fieldBytes;
    if (capture.size > limit) {
      const frame = this.frames[this.frames.length - 1];
      if (capture.purpose === 'root') throw new InvalidRequestError('event must be an object');
      if (capture.purpose === 'member')
        throw new InvalidRequestError(`${(frame as ArrayFrame).path}.${(frame as ArrayFrame).index} is larger than ${this.maxValueBytes} bytes`);
      throw new InvalidRequestError(`the fields other than properties.listData.add and .remove are larger than ${this.maxValueBytes} bytes`);
    }
    if (piece.length > 0) capture.pieces.push(piece);
  }

  private finishCapture(last: Buffer, next: number): number {
    const capture = this.capture as Capture;
    this.keep(capture, last);
    this.capture = undefined;
    const raw = capture.pieces.length === 1 ? capture.pieces[0] : Buffer.concat(capture.pieces, capture.size);
    if (capture.purpose !== 'member') this.fieldBytes += raw.length;
    const frame = this.frames[this.frames.length - 1];
    switch (capture.purpose) {
      case 'root':
        this.rootValue = parseJsonText(raw);
        this.done = true;
        break;
      case 'key': {
        const object = frame as ObjectFrame;
        object.key = parseJsonText(raw) as string;
        object.state = 'colon';
        break;
      }
      case 'value': {
        const object = frame as ObjectFrame;
        define(object.target, object.key, parseJsonText(raw));
        object.state = 'commaOrEnd';
        break;
      }
      case 'member': {
        const array = frame as ArrayFrame;
        this.onMember(array.role, array.index++, raw);
        array.state = 'commaOrEnd';
        break;
      }
    }
    return next;
  }
}
