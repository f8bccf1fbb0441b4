// Is a Redis or a Postgres answering at an address? Asked at the protocol level, without a driver
// (tools/dev-services has no dependencies): a port that accepts connections but speaks something
// else is not taken for a server.
import net from 'node:net';

/** How long an address may take to answer before it counts as nobody there. */
export const PROBE_TIMEOUT_MS = 1000;

/** The host of a redis:// or postgres:// URL, without IPv6 brackets; 127.0.0.1 when none is given. */
export function hostOf(url) {
  return url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
}

/** The port of a URL, or the protocol's default. */
export function portOf(url, fallback) {
  return url.port === '' ? fallback : Number(url.port);
}

/** Only a server that would run on this machine may be replaced by a private one. */
export function isLoopback(url) {
  return ['127.0.0.1', 'localhost', '::1'].includes(hostOf(url));
}

/** The URL with its password hidden, for messages. */
export function printable(url) {
  const copy = new URL(url.toString());
  if (copy.password) copy.password = '***';
  return copy.toString().replace(/\/$/, '');
}

/** The first bytes `host:port` sends back after `request`, or undefined (refused, closed, silent). */
function ask(host, port, request, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('close', () => done(undefined));
    socket.once('connect', () => socket.write(request));
    socket.once('data', (chunk) => done(chunk));
  });
}

/** True when a Redis answers PING at `url` (an error reply such as NOAUTH is a Redis all the same). */
export async function redisAnswers(url, timeoutMs = PROBE_TIMEOUT_MS) {
  const answer = await ask(hostOf(url), portOf(url, 6379), '*1\r\n$4\r\nPING\r\n', timeoutMs);
  return answer !== undefined && (answer[0] === 0x2b || answer[0] === 0x2d); // '+' or '-'
}

/** True when a Postgres answers at `url`: it replies to an SSLRequest with one byte, S or N. */
export async function postgresAnswers(url, timeoutMs = PROBE_TIMEOUT_MS) {
  const sslRequest = Buffer.alloc(8);
  sslRequest.writeInt32BE(8, 0);
  sslRequest.writeInt32BE(80877103, 4);
  const answer = await ask(hostOf(url), portOf(url, 5432), sslRequest, timeoutMs);
  return answer !== undefined && (answer[0] === 0x53 || answer[0] === 0x4e); // 'S' or 'N'
}

/** True when nothing listens on 127.0.0.1:`port`, so a private server can take it. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The URL's port when it is free, else one the OS picks. */
export async function portFor(url, fallback) {
  const wanted = portOf(url, fallback);
  return (await portIsFree(wanted)) ? wanted : freePort();
}

/** Polls `probe` until it is true; false after `timeoutMs`. */
export async function waitUntil(probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
