import { ClientGoneError } from '@evt/errors';

/** Bytes held from a BodyBudget; `release()` gives them back once (later calls do nothing). */
export interface BodyReservation {
  readonly bytes: number;
  release(): void;
}

interface Waiter {
  bytes: number;
  admit(reservation: BodyReservation): void;
  cancel(): void;
}

/**
 * Bytes of request bodies held in memory at once, across all requests of the process. A request
 * is read only once its size fits in what is left (FIFO; one request alone is always admitted);
 * the others wait unread, their clients held back by TCP: a thousand clients uploading 4 MB each
 * cost the bound, not 4 GB. A waiter whose client has gone leaves the queue at once (never
 * admitted), so an abandoned upload, however large, holds nobody back.
 */
export class BodyBudget {
  private held = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly maxBytes: number) {}

  /** Bytes reserved now (for metrics and tests). */
  get used(): number {
    return this.held;
  }

  /** Requests waiting for room now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** `bytes` held at once when they fit and nobody is waiting; undefined otherwise (then acquire and wait). */
  tryAcquire(bytes: number): BodyReservation | undefined {
    return this.waiting.length === 0 && this.fits(bytes) ? this.reserve(bytes) : undefined;
  }

  /**
   * Resolves once `bytes` may be held. If `signal` aborts first (the client went away), the wait
   * ends with ClientGoneError and nothing is held.
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<BodyReservation> {
    if (signal?.aborted) return Promise.reject(new ClientGoneError());
    if (this.waiting.length === 0 && this.fits(bytes)) return Promise.resolve(this.reserve(bytes));
    return new Promise<BodyReservation>((resolve, reject) => {
      const onAbort = () => waiter.cancel();
      const waiter: Waiter = {
        bytes,
        admit: (reservation) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(reservation);
        },
        cancel: () => {
          const index = this.waiting.indexOf(waiter);
          if (index === -1) return; // already admitted: the reader sees the closed request
          this.waiting.splice(index, 1);
          reject(new ClientGoneError());
          // The one that left may have been what kept the next ones out (an oversized body at the head).
          this.admitWhatFits();
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private reserve(bytes: number): BodyReservation {
    this.held += bytes;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.held -= bytes;
        this.admitWhatFits();
      },
    };
  }

  private admitWhatFits(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift() as Waiter;
      next.admit(this.reserve(next.bytes));
    }
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.maxBytes;
  }
}
