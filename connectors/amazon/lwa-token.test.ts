// The LWA token cache against the SP-API stand-in's token endpoint.
import { afterEach, describe, expect, it } from 'vitest';
import { AmazonStandIn } from '../../test/standins/amazon/amazon-standin.js';
import { LwaError, LwaTokenSource } from './lwa-token.js';

let amazon: AmazonStandIn;
afterEach(async () => {
  await amazon?.stop();
});

describe('LwaTokenSource', () => {
  it('asks once for concurrent callers, reuses the token until shortly before it expires, and renews after invalidate', async () => {
    let now = Date.parse('2026-12-05T10:00:00Z');
    amazon = await new AmazonStandIn({ accessTokenTtlSeconds: 3600, now: () => now }).start();
    const lwa = new LwaTokenSource({ clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: amazon.refreshToken, lwaUrl: amazon.lwaUrl }, { now: () => now, refreshMarginMs: 60_000 });
    const tokens = await Promise.all([lwa.accessToken(), lwa.accessToken(), lwa.accessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(amazon.tokenRequests).toBe(1);
    now += 3_530_000; // 58 min 50 s: still inside the margin
    expect(await lwa.accessToken()).toBe(tokens[0]);
    now += 20_000; // 59 min 10 s: within the last minute, renewed
    const renewed = await lwa.accessToken();
    expect(renewed).not.toBe(tokens[0]);
    expect(amazon.tokenRequests).toBe(2);
    lwa.invalidate();
    await lwa.accessToken();
    expect(amazon.tokenRequests).toBe(3);
  });

  it('says plainly when the credentials are wrong, and that retrying cannot help', async () => {
    amazon = await new AmazonStandIn().start();
    const lwa = new LwaTokenSource({ clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: 'Atzr|revoked', lwaUrl: amazon.lwaUrl });
    const err = await lwa.accessToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LwaError);
    expect(err).toMatchObject({ retryable: false, status: 400, message: expect.stringMatching(/invalid_grant/) });
    const down = new LwaTokenSource({ clientId: 'x', clientSecret: 'y', refreshToken: 'z', lwaUrl: 'http://127.0.0.1:9/auth/o2/token' });
    expect(await down.accessToken().catch((e: unknown) => e)).toMatchObject({ retryable: true, status: null });
  });
});
