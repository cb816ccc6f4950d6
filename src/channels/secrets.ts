// Secrets in channel settings are stored and never returned: shown as "********" plus their
// last four characters, so an operator can tell which key is configured.
export const MASK = '********';

export function maskSecret(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) return MASK;
  return value.length <= 8 ? MASK : `${MASK}${value.slice(-4)}`;
}

export function maskSettings(settings: Record<string, unknown>, secretFields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...settings };
  for (const f of secretFields) if (f in out) out[f] = maskSecret(out[f]);
  return out;
}

/**
 * A PUT that sends a secret back as the masked form it read keeps the stored secret, so a
 * client can GET, change one field and PUT the whole object again.
 */
export function keepMaskedSecrets(incoming: Record<string, unknown>, stored: Record<string, unknown> | null, secretFields: readonly string[]): Record<string, unknown> {
  if (!stored) return incoming;
  const out = { ...incoming };
  for (const f of secretFields) {
    const v = out[f];
    if (typeof v === 'string' && v.startsWith(MASK) && v === maskSecret(stored[f])) out[f] = stored[f];
  }
  return out;
}
