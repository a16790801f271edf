/**
 * A minimal Prometheus registry: counters and gauges with labels, rendered in
 * the text exposition format on `/metrics`. Kept in-house: the handful of
 * series we expose do not justify a dependency.
 */
type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
    .join(',');
}

class Series {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, value: number): void {
    this.values.set(key(labels), value);
  }
  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by);
  }
}

export class Metrics {
  private readonly series = new Map<string, Series>();

  counter(name: string, help: string): Series {
    return this.get(name, help, 'counter');
  }

  gauge(name: string, help: string): Series {
    return this.get(name, help, 'gauge');
  }

  private get(name: string, help: string, type: 'counter' | 'gauge'): Series {
    let s = this.series.get(name);
    if (!s) {
      s = new Series(name, help, type);
      this.series.set(name, s);
    }
    return s;
  }

  render(): string {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      if (s.values.size === 0) lines.push(`${s.name} 0`);
      for (const [labels, value] of s.values)
        lines.push(labels ? `${s.name}{${labels}} ${value}` : `${s.name} ${value}`);
    }
    return lines.join('\n') + '\n';
  }
}
