// Releases expired holds (contract §5: within 10 s after expiresAt). node-cron fires every
// second; `noOverlap` skips a tick while the previous run is still busy. Any number of service
// instances may run it: ReservationService.expireDue picks rows with FOR UPDATE SKIP LOCKED and
// releases them with a conditional status update, so no hold is released twice and a
// committed one never.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../logger.js';
import type { ReservationService } from './reservation-service.js';

export interface ExpiryJob {
  /** Runs one pass now (tests, shutdown). */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startExpiryJob(service: ReservationService, opts: { logger: Logger; schedule?: string }): ExpiryJob {
  let running: Promise<number> | null = null;
  const runOnce = (): Promise<number> => {
    running ??= service
      .expireDue()
      .then((n) => {
        if (n > 0) opts.logger.info({ released: n }, 'expired reservations released');
        return n;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const task: ScheduledTask = cron.schedule(
    opts.schedule ?? '* * * * * *',
    async () => {
      try {
        await runOnce();
      } catch (err) {
        opts.logger.warn({ err }, 'reservation expiry run failed; retrying next tick');
      }
    },
    // A tick missed on a busy process is caught up by the next one; node-cron's own warning
    // would go to the console around pino, once a second.
    { name: 'reservation-expiry', noOverlap: true, suppressMissedWarning: true },
  );
  return {
    runOnce,
    async stop() {
      await task.stop();
      await task.destroy();
      await running?.catch(() => 0);
    },
  };
}
