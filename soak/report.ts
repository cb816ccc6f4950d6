// The soak's one printed report: requests, events, faults, readiness, lag and latency through
// each fault, memory, and the invariants with their verdicts.
import { fmtMs, longestGap, summary } from './stats.js';
import type { SoakResult } from './soak.js';
import type { RequestKind, Sample } from './load.js';

const KINDS: RequestKind[] = ['events', 'hold', 'commit', 'release', 'route', 'read', 'query'];

function statusMix(samples: readonly Sample[]): string {
  const by = new Map<number, number>();
  for (const s of samples) by.set(s.status, (by.get(s.status) ?? 0) + 1);
  return [...by].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s === 0 ? 'none' : s}:${n}`).join(' ');
}

function windowLine(name: string, from: number, to: number, r: SoakResult): string[] {
  const inWin = r.load.samples.filter((s) => s.t >= from && s.t < to);
  const lag = r.lag.filter((l) => l.t >= from && l.t < to).map((l) => l.total);
  const lines = [`  ${name.padEnd(24)} ${Math.round((to - from) / 1000)}s  lag max ${lag.length ? Math.max(...lag) : '-'} p95 ${lag.length ? summary(lag).p95 : '-'} msgs  statuses ${statusMix(inWin)}`];
  for (const kind of KINDS) {
    const ks = inWin.filter((s) => s.kind === kind && s.status !== 0);
    if (ks.length === 0) continue;
    const m = summary(ks.map((s) => s.ms));
    lines.push(`    ${kind.padEnd(8)} n=${String(m.n).padEnd(6)} p50 ${fmtMs(m.p50).padEnd(7)} p95 ${fmtMs(m.p95).padEnd(7)} p99 ${fmtMs(m.p99).padEnd(7)} max ${fmtMs(m.max)}`);
  }
  return lines;
}

export function formatReport(r: SoakResult): string {
  const out: string[] = [];
  const s = r.load;
  const firstFault = Math.min(...r.faults.map((f) => f.startedAt));
  out.push(`omnistock soak — seed ${r.options.seed}, ${r.options.minutes} min${r.options.short ? ' (short)' : ''}, load ${Math.round((r.loadEndedAt - r.startedAt) / 1000)} s, drain ${Math.round(r.drainMs / 1000)} s`);
  out.push(`requests ${s.samples.length} (${statusMix(s.samples)})`);
  out.push(`events accepted ${s.accepted.length}, unsent ${s.unsent.length}; holds ${s.holds.made} (committed ${s.holds.committed}, released ${s.holds.released}, left to expire ${s.holds.leftToExpire}), shortages ${s.holds.shortages}`);
  out.push(`hostile requests ${r.fuzz.sent} (${Object.entries(r.fuzz.statuses).map(([k, v]) => `${k}:${v}`).join(' ')}), unsendable by the client ${r.fuzz.unsendable}`);
  const gap = longestGap(r.readiness);
  out.push(`worst readiness gap ${fmtMs(gap.ms)} (from +${Math.round((gap.from - r.startedAt) / 1000)} s); longest partition stall ${fmtMs(Math.max(0, ...r.longestPartitionStallMs))}`);
  out.push('');
  out.push('faults (ready = /readyz 200 again after the fault ended):');
  for (const f of r.faults) out.push(`  +${String(Math.round((f.startedAt - r.startedAt) / 1000)).padStart(4)}s ${f.kind.padEnd(22)} ${fmtMs(f.endedAt - f.startedAt).padEnd(7)} ready after ${f.kind.startsWith('clock-') ? 'n/a (a load fault)' : f.readyAfterMs === null ? 'never' : fmtMs(f.readyAfterMs)}`);
  out.push('');
  out.push('lag and latency per window (fault start to 10 s after its end; answered requests):');
  out.push(...windowLine('baseline (before faults)', r.startedAt, firstFault, r));
  for (const f of r.faults) out.push(...windowLine(f.kind, f.startedAt, f.endedAt + 10_000, r));
  out.push(...windowLine('whole run', r.startedAt, r.loadEndedAt, r));
  out.push('');
  const byProc = new Map<string, number[]>();
  for (const x of r.rss) byProc.set(`${x.name}#${x.incarnation}`, [...(byProc.get(`${x.name}#${x.incarnation}`) ?? []), x.bytes]);
  out.push(`memory (RSS MiB, first → max → last sample): ${[...byProc].map(([k, v]) => `${k} ${Math.round(v[0]! / 2 ** 20)}→${Math.round(Math.max(...v) / 2 ** 20)}→${Math.round(v[v.length - 1]! / 2 ** 20)}`).join(', ')}`);
  out.push('');
  out.push('invariants:');
  for (const i of r.invariants) out.push(`  ${i.ok ? 'PASS' : 'FAIL'}  ${i.name} — ${i.detail}`);
  const failed = r.invariants.filter((i) => !i.ok).length;
  out.push('');
  out.push(failed === 0 ? `all ${r.invariants.length} invariants hold` : `${failed} of ${r.invariants.length} invariants FAILED`);
  return out.join('\n');
}
