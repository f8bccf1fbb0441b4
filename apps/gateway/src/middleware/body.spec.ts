import { BodyBudget } from './body';

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
