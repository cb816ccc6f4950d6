// Square signs each webhook with HMAC-SHA256, keyed by the subscription's signature key, over
// the notification URL followed by the raw body, base64 in `x-square-hmacsha256-signature`.
// The URL must be the one Square posts to, byte for byte (settings.notificationUrl): behind a
// proxy, the URL this process sees is not it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function squareSignature(signatureKey: string, notificationUrl: string, rawBody: Buffer): string {
  return createHmac('sha256', signatureKey).update(notificationUrl).update(rawBody).digest('base64');
}

/** Constant-time check of the header against the expected signature. */
export function verifySquareSignature(signatureKey: string, notificationUrl: string, rawBody: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || header.length === 0) return false;
  const expected = Buffer.from(squareSignature(signatureKey, notificationUrl, rawBody));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
