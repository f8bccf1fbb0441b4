import { InvalidJsonError } from '@evt/errors';

// The states, frames and byte tests of AudienceListScanner (audience-list-scanner.ts).

/** The two member arrays of an audience list, in `properties.listData`. */
export type MemberList = 'add' | 'remove';

/** Members per list are counted in a Postgres integer, removes after adds: see AUDIENCE_REMOVE_INDEX_BASE. */
export const MAX_MEMBERS_PER_LIST = 2 ** 30;

export type Role = 'root' | 'properties' | 'listData' | MemberList;
type ObjectState = 'firstKeyOrEnd' | 'key' | 'colon' | 'value' | 'commaOrEnd';
type ArrayState = 'firstValueOrEnd' | 'value' | 'commaOrEnd';

export interface ObjectFrame {
  kind: 'object';
  role: Role;
  path: string;
  target: Record<string, unknown>;
  state: ObjectState;
  key: string;
  streamed: Set<string>;
}

export interface ArrayFrame {
  kind: 'array';
  role: MemberList;
  path: string;
  state: ArrayState;
  index: number;
}

export type Frame = ObjectFrame | ArrayFrame;

/** A value being read whole: its bytes so far, and where its end is. */
export interface Capture {
  purpose: 'key' | 'value' | 'member' | 'root';
  pieces: Buffer[];
  size: number;
  mode: 'string' | 'container' | 'scalar';
  depth: number;
  inString: boolean;
  escaped: boolean;
}

export const CHILD_ROLE: Partial<Record<Role, Record<string, Role>>> = {
  root: { properties: 'properties' },
  properties: { listData: 'listData' },
  listData: { add: 'add', remove: 'remove' },
};

export const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
export const isScalarEnd = (c: number) => isWhitespace(c) || c === 0x2c || c === 0x7d || c === 0x5d;

export function define(target: Record<string, unknown>, key: string, value: unknown): void {
  // As JSON.parse does: `__proto__` becomes an own property, never the prototype.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** JSON.parse of UTF-8 bytes; InvalidJsonError when they are not JSON. */
export function parseJsonText(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidJsonError({ cause: error });
  }
}
