import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

// Every header the browser SDKs send must be listed: `Allow-Headers: *` does not cover Authorization.
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Content-Encoding',
  'AnonymousId',
  'SentAt',
  'X-Retry-Count',
  'Rsa-Retry-Attempt',
  'Rsa-Since-Last-Attempt',
  'Rsa-Since-First-Attempt',
  'Rsa-Retry-Reason',
  'Rsa-Recovered',
].join(', ');

/** The CORS headers of every answer: any origin, never credentials, Retry-After readable. */
export function setCorsHeaders(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
}

/** CORS for any origin, never with credentials; answers preflights itself. */
export function cors(req: Request, res: Response, next: NextFunction): void {
  setCorsHeaders(res);
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    // Reflect what the browser asks for (the Rsa-* family grows); the fixed list covers older browsers.
    const requested = req.headers['access-control-request-headers'];
    res.setHeader('Access-Control-Allow-Headers', requested ? `${ALLOWED_HEADERS}, ${requested}` : ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '86400');
    res.setHeader('Vary', 'Access-Control-Request-Headers');
    res.status(204).end();
    return;
  }
  next();
}
