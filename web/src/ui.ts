// Small shared pieces: error and loading states, a labelled field.
import { html } from 'htm/preact';
import type { ComponentChildren } from 'preact';
import { ApiError } from './api.js';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  const unreachable = error instanceof ApiError && error.unreachable;
  return html`<div class=${`error ${unreachable ? 'offline' : ''}`} role="alert">${unreachable ? '⚠ ' : ''}${msg}</div>`;
}

export function Loading({ what }: { what: string }) {
  return html`<p class="loading" role="status" aria-live="polite"><span class="spinner" aria-hidden="true"></span>Loading ${what}…</p>`;
}

export function Field({ label, id, children, hint }: { label: string; id: string; children: ComponentChildren; hint?: string }) {
  return html`<div class="field"><label for=${id}>${label}</label>${children}${hint ? html`<small id=${`${id}-hint`}>${hint}</small>` : null}</div>`;
}

export const SKU_RE = /^[A-Za-z0-9._/-]{1,64}$/;
