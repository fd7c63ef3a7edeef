/**
 * The VIP controller of one instance: claims and releases its VIPs, routes and rules through the `VipManager`,
 * keeps trying a claim that failed (a MASTER without its VIPs black-holes the traffic its GARP draws), and
 * defends them while claimed. All waiting runs on the injected clock (docs/architecture.md, "Rooms").
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { MICROSECONDS_PER_MILLISECOND } from '../core/time.js';
import { TandemError } from '../errors.js';
import type { ClaimResult, VipManager } from './vip.js';

/** A failed claim is tried again after this, then twice as long each time, up to the maximum. */
export const CLAIM_RETRY_FIRST_MICROSECONDS = 500 * MICROSECONDS_PER_MILLISECOND;
export const CLAIM_RETRY_MAX_MICROSECONDS = 10_000 * MICROSECONDS_PER_MILLISECOND;

export class VipError extends TandemError {
  constructor(result: ClaimResult) {
    super(
      'TANDEM_EVIP',
      result.failed.map((failure) => `${failure.what}: ${failure.error.message}`).join('; '),
    );
  }
}

export class VipController {
  private retry: unknown;
  /** Claims retried so far since the last successful one (for status and tests). */
  retries = 0;

  constructor(
    readonly manager: VipManager,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Claims everything; on a failure, keeps retrying with backoff while claimed, and throws the failure. */
  async claim(): Promise<void> {
    try {
      const result = await this.manager.claim();
      if (result.failed.length > 0) throw new VipError(result);
      this.retries = 0;
    } catch (error) {
      this.scheduleRetry(CLAIM_RETRY_FIRST_MICROSECONDS);
      throw error;
    } finally {
      this.manager.watch();
    }
  }

  async release(): Promise<void> {
    this.cancelRetry();
    this.manager.unwatch();
    const result = await this.manager.release();
    if (result.failed.length > 0) throw new VipError(result);
  }

  /** VIPs a crashed earlier run left behind go before the first election (they would answer ARP). */
  async removeStale(): Promise<void> {
    await this.manager.removeStale();
  }

  /** Stops retrying and defending; releases nothing. */
  stop(): void {
    this.cancelRetry();
    this.manager.unwatch();
  }

  get retryPending(): boolean {
    return this.retry !== undefined;
  }

  private scheduleRetry(microseconds: number): void {
    this.cancelRetry();
    this.retry = this.clock.setTimer(() => {
      this.retry = undefined;
      if (!this.manager.claimed) return;
      this.retries++;
      const next = Math.min(microseconds * 2, CLAIM_RETRY_MAX_MICROSECONDS);
      this.manager.claim().then(
        (result) => {
          if (result.failed.length > 0) this.scheduleRetry(next);
          else this.log.info({ retries: this.retries }, 'VIPs claimed on retry');
        },
        () => this.scheduleRetry(next),
      );
    }, microseconds);
  }

  private cancelRetry(): void {
    if (this.retry !== undefined) this.clock.clearTimer(this.retry);
    this.retry = undefined;
  }
}
