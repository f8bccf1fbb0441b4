export interface BasicCredentials {
  user: string;
  password: string;
}

/**
 * Reads `Authorization: Basic …`. RudderStack SDKs send `base64("<writeKey>:")`; some clients
 * leave out the colon, which we accept too. Undefined when the header is missing or unreadable.
 */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1].replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
  if (user === '' || /[\u0000-\u001f\u007f\ufffd]/.test(user)) return undefined;
  return { user, password };
}

/** Reads `Authorization: Bearer <token>`; undefined when the header is missing or of another scheme. */
export function parseBearerAuthorization(header: string | undefined): string | undefined {
  const match = header ? /^\s*bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1] : undefined;
}
