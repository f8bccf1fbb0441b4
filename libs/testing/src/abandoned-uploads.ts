import net from 'node:net';

/** An upload that sent its headers and part of its body, then stopped. */
interface Upload {
  socket: net.Socket;
  path: string;
  announced: number;
}

/** Opens a POST that announces `announced` bytes, sends headers and `sent` bytes of body, then stalls. No credentials. */
function startUpload(url: string, path: string, announced: number, sent = 64 * 1024): Promise<Upload> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${announced}\r\n\r\n`);
      socket.write(`{"batch":[{"type":"track","event":"${'x'.repeat(Math.max(0, Math.min(sent, announced) - 40))}`);
      resolve({ socket, path, announced });
    });
    socket.on('error', () => undefined); // the gateway may answer 401/413 and close: that is fine
    socket.once('error', reject);
    socket.resume();
  });
}

export interface AbandonedUploads {
  /** Uploads opened, by what became of them. */
  opened: { abandonedWaiting: number; abandonedAdmitted: number; stalled: number };
  /** The largest size announced. */
  largestAnnounced: number;
  /** Closes the uploads still stalled. */
  close(): void;
}

/**
 * Forces the interleaving that once leaked the gateway's body budget: uploads without
 * credentials fill the budget (`budgetBytes`, each announcing `requestBytes`) and stall; more
 * wait behind them, one announcing `audienceListBytes` to /internal/v1/audiencelist; then the
 * waiting ones go away first, then most of the admitted ones. Two stay stalled (well under the
 * budget) until `close()`. A normal request sent afterwards must be answered at once.
 */
export async function abandonUploads(
  url: string,
  options: { budgetBytes?: number; requestBytes?: number; audienceListBytes?: number; settleMs?: number } = {},
): Promise<AbandonedUploads> {
  const budget = options.budgetBytes ?? 64 * 1024 * 1024;
  const requestBytes = options.requestBytes ?? 4000 * 1024;
  const audienceListBytes = options.audienceListBytes ?? 100 * 1024 * 1024;
  const settle = () => new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 300));
  const admitted = await Promise.all(Array.from({ length: Math.ceil(budget / requestBytes) }, () => startUpload(url, '/v1/batch', requestBytes)));
  await settle();
  const waiting = await Promise.all([
    startUpload(url, '/internal/v1/audiencelist', audienceListBytes),
    ...Array.from({ length: 3 }, () => startUpload(url, '/v1/batch', requestBytes)),
    startUpload(url, '/v1/import', requestBytes),
  ]);
  await settle();
  for (const upload of waiting) upload.socket.destroy();
  await settle();
  const stalled = admitted.splice(0, 2);
  for (const upload of admitted) upload.socket.destroy();
  await settle();
  return {
    opened: { abandonedWaiting: waiting.length, abandonedAdmitted: admitted.length, stalled: stalled.length },
    largestAnnounced: audienceListBytes,
    close: () => stalled.forEach((upload) => upload.socket.destroy()),
  };
}

/** Sends a plain track with `authorization` and says how it was answered and how fast (no answer after `timeoutMs`: status 0). */
export async function timedProbe(url: string, authorization: string, timeoutMs = 10_000): Promise<{ status: number; ms: number; messageId: string }> {
  const messageId = `probe-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  const started = performance.now();
  try {
    const answer = await fetch(`${url}/v1/track`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'u-probe', event: 'Probe', messageId }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await answer.text();
    return { status: answer.status, ms: Math.round(performance.now() - started), messageId };
  } catch {
    return { status: 0, ms: Math.round(performance.now() - started), messageId };
  }
}
