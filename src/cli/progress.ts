// A progress bar for long CLI work on a terminal; plain periodic lines when piped.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    let lastPct = -10;
    return {
      update(done, total) {
        const pct = total ? Math.floor((done / total) * 100) : 100;
        if (pct >= lastPct + 10) {
          lastPct = pct;
          stream.write(`${label}: ${done}/${total} (${pct}%)\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`, stream }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total) {
      if (!started) { bar.start(total, 0); started = true; }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() { if (started) bar.stop(); },
  };
}
