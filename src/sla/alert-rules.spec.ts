import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Rule { alert?: string; record?: string; expr: string }

const rules: Rule[] = parse(readFileSync(join(__dirname, '../../deploy/prometheus/alerts.yml'), 'utf8'))
  .groups.flatMap((group: { rules: Rule[] }) => group.rules);

describe('example alert rules (deploy/prometheus/alerts.yml)', () => {
  const burns = rules.filter((rule) => rule.alert?.startsWith('GatewayErrorBudget'));

  it('has burn-rate alerts whose thresholds can be reached at a 95% target (burn rate at most 1 / 0.05 = 20)', () => {
    expect(burns.length).toBe(3);
    for (const rule of burns) {
      const thresholds = [...rule.expr.matchAll(/> (\d+(?:\.\d+)?) \* 0\.05/g)].map((m) => Number(m[1]));
      expect(thresholds.length).toBe(2);
      for (const burn of thresholds) expect(burn * 0.05).toBeLessThan(1);
    }
  });

  it('only reads recorded ratios that are defined, on the lookup route\'s 5xx', () => {
    const recorded = new Set(rules.filter((rule) => rule.record).map((rule) => rule.record));
    for (const rule of burns) {
      for (const [name] of rule.expr.matchAll(/gateway:[a-z_]+:rate\w+/g)) expect(recorded.has(name)).toBe(true);
    }
    for (const rule of rules.filter((r) => r.record)) expect(rule.expr).toContain('route="/v1/droits/recherche",status_class="5xx"');
  });
});
