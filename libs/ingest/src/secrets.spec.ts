import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sameSecret, secretDigest } from './secrets';

describe('sameSecret', () => {
  afterEach(() => jest.restoreAllMocks());

  it('tells equal secrets from different ones, whatever their lengths', () => {
    expect(sameSecret('2Kx9-write-key', '2Kx9-write-key')).toBe(true);
    expect(sameSecret('2Kx9-write-key', '2Kx9-write-kez')).toBe(false);
    expect(sameSecret('', '2Kx9-write-key')).toBe(false);
    expect(sameSecret('2Kx9-write-key-and-more', '2Kx9-write-key')).toBe(false);
    expect(sameSecret(secretDigest('k'), 'k')).toBe(true);
  });

  it('compares fixed-length digests with crypto.timingSafeEqual, never the secrets themselves', () => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    for (const given of ['', 'x', 'secret-key', 'secret-kex', 'y'.repeat(10_000)]) sameSecret(given, 'secret-key');
    expect(compare).toHaveBeenCalledTimes(5);
    for (const [a, b] of compare.mock.calls) {
      expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
  });

  // A comparison that stops at the first differing byte answers a guess wrong in its first byte
  // sooner than one wrong only in its last: that is how a key is found byte by byte. With 4 MB
  // secrets such a comparison would take ~0 against ~1 ms; sameSecret takes the same either way.
  it('takes as long for a guess wrong in its first byte as for one wrong only in its last', () => {
    const secret = 'k'.repeat(4 * 1024 * 1024);
    const wrongFirst = `x${secret.slice(1)}`;
    const wrongLast = `${secret.slice(0, -1)}x`;
    const time = (guess: string) => {
      const started = performance.now();
      sameSecret(guess, secret);
      return performance.now() - started;
    };
    const first: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < 31; i++) {
      first.push(time(wrongFirst));
      last.push(time(wrongLast));
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
    const ratio = median(last) / median(first);
    expect([ratio > 0.5 && ratio < 2, ratio]).toEqual([true, ratio]);
  });
});
