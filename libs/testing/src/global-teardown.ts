export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __evtBacking?: { stop(): Promise<void> } }).__evtBacking?.stop();
}
