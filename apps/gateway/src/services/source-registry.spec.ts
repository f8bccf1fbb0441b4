import type { SourceConfig } from '@evt/db';
import { createLogger } from '@evt/logging';
import { SourceRegistry } from './source-registry';

const source = (id: string, writeKey: string, enabled = true): SourceConfig => ({
  id,
  name: id,
  workspaceId: 'ws-1',
  writeKey,
  kind: 'event_stream',
  enabled,
  originalSourceId: null,
  rateLimit: null,
  destinations: [],
});

describe('SourceRegistry', () => {
  it('finds a source by its write key, and not by a key that differs by one character', async () => {
    const registry = new SourceRegistry(async () => [source('src-1', 'key-one'), source('src-2', 'key-two')], 60_000, createLogger('test', 'silent'));
    await registry.refresh();
    expect(registry.byWriteKey('key-one')?.id).toBe('src-1');
    expect(registry.byWriteKey('key-one')?.id).toBe('src-1');
    expect(registry.byWriteKey('key-two')?.id).toBe('src-2');
    expect(registry.byWriteKey('key-onE')).toBeUndefined();
    expect(registry.byWriteKey('')).toBeUndefined();
  });

  it('forgets a rotated key at the next refresh, even one it had just matched, and sees the new configuration', async () => {
    let sources = [source('src-1', 'old-key')];
    const registry = new SourceRegistry(async () => sources, 60_000, createLogger('test', 'silent'));
    await registry.refresh();
    expect(registry.byWriteKey('old-key')?.id).toBe('src-1');
    sources = [source('src-1', 'new-key', false)];
    await registry.refresh();
    expect(registry.byWriteKey('old-key')).toBeUndefined();
    expect(registry.byWriteKey('new-key')).toMatchObject({ id: 'src-1', enabled: false });
  });
});
