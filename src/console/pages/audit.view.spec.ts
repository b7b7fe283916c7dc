import { auditView } from './audit.view';

/** What the audit page says of the scheduled verification of the whole trail. */
describe('audit page: the scheduled verification', () => {
  const page = (scheduled: Parameters<typeof auditView>[0]['scheduled'], verifyEveryHours = 24, verifying = false,
    nextScheduled?: Date | 'due') => {
    const text = auditView({ partners: [], csrf: 'token', scheduled, verifyEveryHours, verifying, nextScheduled }).text;
    const at = text.indexOf('id="scheduled-verification"');
    expect(at).toBeGreaterThan(0);
    return text.slice(at, at + 700).replace(/\s+/g, ' ').replaceAll('&#39;', "'");
  };
  const run = { started_at: new Date('2026-12-04T02:30:00Z'), finished_at: new Date('2026-12-04T02:31:05Z'), checked: 12345,
    checkpoints_checked: 1, first_bad_seq: null, problem: null, requested_by: null };

  it('says none has run yet, and how often it runs', () => {
    expect(page(undefined, 24, false, 'due')).toContain("La passerelle vérifie d'elle-même toute la chaîne chaque nuit (la prochaine dans les dix minutes). "
      + "Aucune vérification de toute la chaîne n'a encore eu lieu.");
    expect(page(undefined, 6, false, new Date('2026-12-04T18:00:00Z'))).toContain('toutes les 6 heures (la prochaine le 4 décembre 2026 à 19:00).');
    expect(page(undefined, 0)).toContain('La vérification automatique est désactivée');
  });

  it('says when the latest found the chain intact, with its counts in French', () => {
    const shown = page({ ...run, ok: true });
    expect(shown).toContain('fr-alert--info');
    expect(shown).toMatch(/Dernière vérification de toute la chaîne le 4 décembre 2026 à 03:31 \(automatique\) : chaîne intacte/);
    expect(shown).toContain('12 345 entrées vérifiées, 1 point de contrôle vérifié.');
  });

  it('says which one an auditor asked for, and that one is running', () => {
    const shown = page({ ...run, ok: true, requested_by: '6f1c1b1e-0000-4000-8000-000000000001' }, 24, true);
    expect(shown).toMatch(/Vérification de toute la chaîne en cours.*Dernière vérification de toute la chaîne le .+ \(demandée depuis la console\) : chaîne intacte/);
    expect(page(undefined, 24, true)).toContain('Vérification de toute la chaîne en cours');
    expect(page({ ...run, ok: true })).not.toContain('en cours');
  });

  it('shows a broken chain as an error, with the first bad entry and where the procedure is', () => {
    const shown = page({ ...run, ok: false, first_bad_seq: 42, problem: 'hash does not match the entry' });
    expect(shown).toContain('fr-alert--error');
    expect(shown).toContain('role="alert"');
    expect(shown).toMatch(/la chaîne est rompue.*Première entrée en défaut : n° 42 \(hash does not match the entry\)\. Suivez la procédure de docs\/audit\.md/);
  });
});

describe('audit page: retention', () => {
  const section = (retention: Parameters<typeof auditView>[0]['retention']) => {
    const text = auditView({ partners: [], csrf: 'token', verifyEveryHours: 24, retention }).text;
    const at = text.indexOf('id="retention"');
    expect(at).toBeGreaterThan(0);
    return text.slice(at, at + 1500).replace(/<[^>]+>/g, ' ').replace(/[ \n\t]+/g, ' ').replaceAll('&#39;', "'");
  };

  it('says how long entries are kept, and that none was removed yet', () => {
    const shown = section({ months: 36 });
    expect(shown).toContain('Les entrées sont conservées 36 mois.');
    expect(shown).toContain("Aucune entrée n'a encore atteint cette durée : le journal est complet depuis sa première entrée.");
  });

  it('says what the latest purge removed and the signed anchor the chain kept starts from', () => {
    const shown = section({ months: 36, lastPurge: { seq: 12345, hash: 'ab'.repeat(32), at: '2023-11-03T10:00:00.000Z', key_id: 'k1',
      signature: 's', from_seq: 1, entries: 12345, purged_at: '2026-12-04T02:00:00.000Z' } });
    expect(shown).toMatch(/Dernière suppression 4 décembre 2026 à 03:00/);
    expect(shown).toMatch(/Entrées supprimées n° 1 à 12345 \(12\u202f345 entrées\)/);
    expect(shown).toContain(`point de contrôle n° 12345 signé le 3 novembre 2023 à 11:00, empreinte ${'ab'.repeat(32)}`);
    expect(auditView({ partners: [], csrf: 'token', verifyEveryHours: 24 }).text).not.toContain('id="retention"');
  });
});
