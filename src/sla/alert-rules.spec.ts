import { readdirSync, readFileSync, statSync } from 'node:fs';
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

  it('reads only series the gateway exposes (each gateway_ series named in an alert is declared in src/)', () => {
    const sources = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [readFileSync(path, 'utf8')] : [];
    });
    const code = sources(join(__dirname, '..')).join('\n');
    const names = new Set(rules.filter((rule) => rule.alert).flatMap((rule) => [...rule.expr.matchAll(/\bgateway_[a-z_]+/g)].map((m) => m[0])));
    expect([...names].sort()).toEqual(expect.arrayContaining(['gateway_sla_error_budget_remaining_minutes', 'gateway_sla_probe_success']));
    for (const name of names) expect(code.includes(`'${name}'`) ? name : `${name} (not declared)`).toBe(name);
  });
});
