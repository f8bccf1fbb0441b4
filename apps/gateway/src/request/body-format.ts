import type { IncomingMessage } from 'node:http';
import type { Config } from '@evt/config';
import type { BodyBudget } from '../http/body-budget';

/** What reading a body needs: its limits and the bound on bodies held at once. */
export interface BodyLimits {
  config: Config;
  bodyBudget: BodyBudget;
}

/** How a route's body is read (`Raw`: as received) and parsed (`Body`): see readRequest. */
export interface BodyFormat<Raw, Body> {
  /** Reads the body within its size limit and the body budget, inflated. */
  read(req: IncomingMessage, limits: BodyLimits): Promise<Raw>;
  parse(raw: Raw, req: IncomingMessage): Body;
  /** Its size in bytes, inflated. */
  size(raw: Raw): number;
  /** What holds Segment's body `writeKey`, when not the body itself. */
  writeKeyHolder?(body: Body): unknown;
  /** Frees what a body holds when the request fails before its route gets it. */
  discard?(raw: Raw): Promise<void>;
}
