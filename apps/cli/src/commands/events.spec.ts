import { InvalidArgumentError } from 'commander';
import { parseAge } from './events';

describe('events prune --older-than', () => {
  it('reads days and hours', () => {
    expect(parseAge('90d')).toBe(90 * 86_400_000);
    expect(parseAge('36h')).toBe(36 * 3_600_000);
  });

  it('refuses no age, zero, other units and plain numbers as an invalid argument (exit 2)', () => {
    for (const age of ['', '0d', '0h', '90', '2w', '1.5d', 'd']) expect(() => parseAge(age)).toThrow(InvalidArgumentError);
  });
});
