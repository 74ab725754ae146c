import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, progress } from '../../src/util/progress';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 200, write: (s: string) => out.push(s) } };
}

describe('progress', () => {
  it('redraws one line on a TTY, throttled, and ends with a newline', () => {
    const { out, stream } = sink(true);
    let t = 0;
    const p = progress({ label: 'rows', total: 100, unit: 'rows', stream, now: () => t });
    for (let i = 0; i < 10; i++) {
      t += 10; // 10 ms apart: below the 250 ms redraw interval
      p.tick(5);
    }
    expect(out.length).toBe(0);
    t += 300;
    p.tick(10);
    expect(out.length).toBe(1);
    expect(out[0].startsWith('\r')).toBe(true);
    expect(out[0]).toContain('60.0%');
    expect(out[0]).toContain('ETA');
    p.done();
    p.done();
    expect(out.length).toBe(2);
    expect(out[1].endsWith('\n')).toBe(true);
    expect(out[1]).toContain('60/100 rows');
    expect(p.count).toBe(60);
  });

  it('prints occasional plain lines elsewhere, and nothing when silent', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = progress({ label: 'seq', stream, now: () => t, plainIntervalMs: 1000 });
    for (let i = 0; i < 100; i++) {
      t += 100;
      p.tick();
    }
    expect(out.length).toBe(10);
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    p.update(500);
    p.done('ok');
    expect(out.at(-1)).toContain('500 it');
    expect(out.at(-1)).toContain('ok');
    const quiet = sink(false);
    const q = progress({ label: 'x', total: 5, stream: quiet.stream, silent: true, now: () => (t += 1e6) });
    q.tick(5);
    q.done();
    expect(quiet.out.length).toBe(0);
  });

  it('formats counts and durations', () => {
    expect(formatCount(950)).toBe('950');
    expect(formatCount(12_345)).toBe('12.3k');
    expect(formatCount(3_600_000)).toBe('3.60M');
    expect(formatDuration(5.25)).toBe('5.3s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});
