import { BodyBudget, nestedDeeperThan } from './body';

describe('BodyBudget', () => {
  it('admits bodies while they fit, then in arrival order as others are released', async () => {
    const budget = new BodyBudget(100);
    const admitted: string[] = [];
    await budget.acquire(60);
    const second = budget.acquire(60).then(() => admitted.push('second'));
    const third = budget.acquire(10).then(() => admitted.push('third'));
    await new Promise((resolve) => setImmediate(resolve));
    // The third would fit, but waits its turn behind the second.
    expect(admitted).toEqual([]);
    budget.release(60);
    await Promise.all([second, third]);
    expect(admitted).toEqual(['second', 'third']);
  });

  it('always admits a body alone, however large', async () => {
    const budget = new BodyBudget(100);
    await expect(budget.acquire(5000)).resolves.toBeUndefined();
    let next = false;
    const waiting = budget.acquire(1).then(() => (next = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(next).toBe(false);
    budget.release(5000);
    await waiting;
    expect(next).toBe(true);
  });
});

describe('nestedDeeperThan', () => {
  const bytes = (text: string) => Buffer.from(text);
  it('measures object and array nesting, skipping strings and escaped quotes', () => {
    expect(nestedDeeperThan(bytes(`${'['.repeat(5)}${']'.repeat(5)}`.padEnd(20)), 4)).toBe(true);
    expect(nestedDeeperThan(bytes(`${'['.repeat(4)}${']'.repeat(4)}`.padEnd(20)), 4)).toBe(false);
    expect(nestedDeeperThan(bytes(JSON.stringify({ a: '{{{{{{{{{{', b: 'x\\"[[[[[[[[' })), 2)).toBe(false);
    expect(nestedDeeperThan(bytes('[{"a":[{"b":[1]}]}, {"c":2}]'), 4)).toBe(true);
    expect(nestedDeeperThan(bytes('[{"a":[{"b":[1]}]}, {"c":2}]'), 5)).toBe(false);
  });
});
