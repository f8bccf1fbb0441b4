import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { ServiceUnavailableError } from '@evt/errors';
import type { GatewayDeps } from '../deps';
import { answerError, closeAfterAnswer } from '../http/answer';

/** While stopping, a new request gets 503 and its connection is closed: the client retries elsewhere. */
export function refusedWhileStopping(deps: GatewayDeps, res: ServerResponse): boolean {
  if (!deps.isStopping()) return false;
  closeAfterAnswer(res);
  answerError(res, new ServiceUnavailableError('shutting down'), deps.logger);
  return true;
}

/** refusedWhileStopping as Express middleware. */
export function refuseWhileStopping(deps: GatewayDeps) {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (!refusedWhileStopping(deps, res)) next();
  };
}
