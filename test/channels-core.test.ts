// The engine's pure parts: the token bucket (with an injected clock), channel figures (network
// and per location, buffer), urgency and jittered backoff, secret masking.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/channels/token-bucket.js';
import { backoffMs, channelFigures, isUrgent } from '../src/channels/channel-figures.js';
import { keepMaskedSecrets, maskSecret, maskSettings } from '../src/channels/secrets.js';

describe('token bucket', () => {
  it('never lets more through in any window than burst + rate × window', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 30 })), { minLength: 1, maxLength: 200 }), (steps) => {
      const b = new TokenBucket({ ratePerSecond: 50, burst: 40 }, 0);
      let now = 0;
      const taken: Array<[number, number]> = [];
      for (const [dt, cost] of steps) {
        now += dt;
        if (b.take(cost, now) === 0) taken.push([now, cost]);
      }
      for (const [t0] of taken) {
        const inWindow = taken.filter(([t]) => t >= t0 && t < t0 + 1000).reduce((n, [, c]) => n + c, 0);
        expect(inWindow).toBeLessThanOrEqual(40 + 50 + 1e-9);
      }
    }));
  });

  it('answers how long to wait, and a vendor pause holds it', () => {
    const b = new TokenBucket({ ratePerSecond: 10, burst: 10 }, 0);
    expect(b.take(10, 0)).toBe(0);
    expect(b.take(5, 0)).toBe(500);
    expect(b.take(5, 500)).toBe(0);
    b.pauseUntil(2_000, 500);
    expect(b.take(1, 1_000)).toBe(1_000);
    expect(b.throttledUntil(1_000)).toBe(2_000);
    expect(b.take(1, 2_100)).toBe(0);
    expect(b.take(100, 10_000)).toBe(0); // a cost above the burst is clamped, never stuck
  });
});

describe('channel figures', () => {
  const atps = new Map([['A', new Map([['s1', 5], ['s2', 3], ['w', 10]])]]);
  it('network: max(0, Σ ATP over the pool − buffer); per location: max(0, ATP − buffer) each', () => {
    expect(channelFigures({ pool: ['s1', 's2'], bufferUnits: 2, channelLocations: null }, ['A', 'B'], atps))
      .toEqual([{ sku: 'A', channelLocation: '', quantity: 6 }, { sku: 'B', channelLocation: '', quantity: 0 }]);
    expect(channelFigures({ pool: ['s1', 's2'], bufferUnits: 4, channelLocations: [{ channelLocation: 'X', locationId: 's1' }, { channelLocation: 'Y', locationId: 's2' }] }, ['A'], atps))
      .toEqual([{ sku: 'A', channelLocation: 'X', quantity: 1 }, { sku: 'A', channelLocation: 'Y', quantity: 0 }]);
  });

  it('urgency: reaching zero, or crossing the low-stock threshold downwards', () => {
    expect(isUrgent(0, 5, 0)).toBe(true);
    expect(isUrgent(0, 0, 0)).toBe(false);
    expect(isUrgent(3, 10, 3)).toBe(true);
    expect(isUrgent(3, 2, 3)).toBe(false);
    expect(isUrgent(8, 10, 3)).toBe(false);
  });

  it('backoff grows, is jittered within [ceiling/2, ceiling] and capped', () => {
    expect(backoffMs(0, () => 0)).toBe(125);
    expect(backoffMs(0, () => 1)).toBe(250);
    expect(backoffMs(3, () => 1)).toBe(2_000);
    expect(backoffMs(50, () => 1)).toBe(60_000);
  });
});

describe('secrets', () => {
  it('masks all but the last four characters and keeps a stored secret sent back masked', () => {
    expect(maskSecret('shpat_abcdefgh1234')).toBe('********1234');
    expect(maskSecret('short')).toBe('********');
    const stored = { token: 'shpat_abcdefgh1234', shop: 'x' };
    const shown = maskSettings(stored, ['token']);
    expect(shown).toEqual({ token: '********1234', shop: 'x' });
    expect(keepMaskedSecrets({ ...shown, shop: 'y' }, stored, ['token'])).toEqual({ token: 'shpat_abcdefgh1234', shop: 'y' });
    expect(keepMaskedSecrets({ token: 'new-secret-value-99' }, stored, ['token'])).toEqual({ token: 'new-secret-value-99' });
  });
});
