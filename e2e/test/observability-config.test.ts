import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricsRegistry } from '@niyanta/telemetry';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** The api's metrics live in a registry of its own (services/api/src/metrics.ts): their names. */
function apiMetrics(): { name: string; type: string }[] {
  const source = read('services/api/src/metrics.ts');
  return [...source.matchAll(/new (Counter|Gauge|Histogram)\(\{\s*name: '([a-z0-9_]+)'/g)].map(
    (m) => ({ name: m[2]!, type: m[1]!.toLowerCase() }),
  );
}

/** Every niyanta_* metric with its type. */
async function niyantaMetrics(): Promise<{ name: string; type: string }[]> {
  const shared = (await metricsRegistry.getMetricsAsJSON()).map((m) => ({
    name: m.name,
    type: String(m.type),
  }));
  return [...shared, ...apiMetrics()].filter((m) => m.name.startsWith('niyanta_'));
}

/** The series names a metric exposes (a histogram's buckets, count and sum). */
function seriesOf(m: { name: string; type: string }): string[] {
  return m.type === 'histogram'
    ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`]
    : [m.name];
}

const referenced = (expr: string): string[] =>
  [...expr.matchAll(/\bniyanta_[a-z0-9_]+/g)].map((m) => m[0]);

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[];
}
interface Panel {
  title?: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

describe('infra/observability', () => {
  let series: Set<string>;
  let metrics: { name: string; type: string }[];

  beforeAll(async () => {
    metrics = await niyantaMetrics();
    series = new Set(metrics.flatMap(seriesOf));
  });

  it('names metrics the way Prometheus expects', () => {
    expect(metrics.length).toBeGreaterThan(15);
    for (const m of metrics) {
      expect({ name: m.name, ok: /^niyanta_[a-z0-9_]+$/.test(m.name) }).toEqual({
        name: m.name,
        ok: true,
      });
      if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
      // Base units only.
      expect(m.name).not.toMatch(/_(milliseconds|ms|kilobytes|mb)(_|$)/);
    }
  });

  it('alerts only on metrics that exist', () => {
    const rules = parse(read('infra/observability/prometheus/alerts.yml')) as RuleFile;
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'NiyantaNoPlacementsWhilePending',
        'NiyantaWorkersDied',
        'NiyantaConsumerLagGrowing',
        'NiyantaSchedulerLeaderMissing',
        'NiyantaApiErrorRate',
      ]),
    );
    for (const rule of all) {
      const names = referenced(rule.expr);
      expect({
        alert: rule.alert,
        references: names.length > 0 || /\bup\b/.test(rule.expr),
      }).toEqual({ alert: rule.alert, references: true });
      const unknown = names.filter((n) => !series.has(n));
      expect({ alert: rule.alert, unknown }).toEqual({ alert: rule.alert, unknown: [] });
    }
  });

  it('has a dashboard whose panels query only metrics that exist, and every metric', () => {
    const dashboard = JSON.parse(read('infra/observability/grafana/dashboards/niyanta.json')) as {
      uid: string;
      panels: Panel[];
    };
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const used = new Set<string>();
    for (const panel of panels) {
      if (panel.type === 'row') continue;
      expect({ panel: panel.title, targets: (panel.targets ?? []).length > 0 }).toEqual({
        panel: panel.title,
        targets: true,
      });
      for (const target of panel.targets ?? []) {
        const names = referenced(target.expr);
        for (const n of names) used.add(n);
        const unknown = names.filter((n) => !series.has(n));
        expect({ panel: panel.title, unknown }).toEqual({ panel: panel.title, unknown: [] });
      }
    }
    const shown = (m: { name: string; type: string }) => seriesOf(m).some((s) => used.has(s));
    expect(metrics.filter((m) => !shown(m)).map((m) => m.name)).toEqual([]);
  });

  it('scrapes every service and loads the rules', () => {
    const config = parse(read('infra/observability/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string }[];
    };
    expect(config.scrape_configs.map((c) => c.job_name).sort()).toEqual(
      ['api', 'checkpoint', 'health-monitor', 'scheduler', 'worker'].sort(),
    );
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
  });

  it('documents every metric in docs/observability.md', () => {
    const doc = read('docs/observability.md');
    expect(metrics.filter((m) => !doc.includes(`\`${m.name}\``)).map((m) => m.name)).toEqual([]);
  });
});
