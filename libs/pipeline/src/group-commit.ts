/**
 * Gathers work handed in concurrently (the jobs a BullMQ worker runs at once) and commits it in
 * groups: one call of `commit` for many items, each caller's promise settling with the group's
 * result. A commit starts as soon as `maxItems` are waiting, or `lingerMs` after the first.
 */
export class GroupCommit<T, R> {
  private waiting: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly commit: (items: T[]) => Promise<R>,
    private readonly maxItems: number,
    private readonly lingerMs: number,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.waiting;
    this.waiting = [];
    if (group.length === 0) return;
    this.commit(group.map((entry) => entry.item)).then(
      (result) => group.forEach((entry) => entry.resolve(result)),
      (error: unknown) => group.forEach((entry) => entry.reject(error)),
    );
  }
}
