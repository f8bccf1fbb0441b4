import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@evt/logging';
import { answerError } from '../http/answer';

/** Express's error handler: errors of the Express routes become answers here, as the hot routes' do in answerError. */
export function errorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => answerError(res, error, logger);
}
