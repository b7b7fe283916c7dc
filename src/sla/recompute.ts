import { verify, createPublicKey } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { AvailabilityFigures, computeAvailability, MaintenanceSpan, MinuteFigures } from './availability';
import { canonicalJson } from '../common/canonical-json';
import { signedText } from './sla-reports';

/** The fields of a report that the minutes determine (partners' rows come from usage counters, not minutes). */
const COMPARED: (keyof AvailabilityFigures)[] = ['month', 'measured_from', 'target', 'availability', 'met', 'availability_including_maintenance',
  'minutes_total', 'minutes_measured', 'minutes_unavailable', 'minutes_maintenance', 'request_success_ratio',
  'error_budget_remaining_minutes', 'incidents'];

export interface Recomputation {
  recomputed: AvailabilityFigures;
  /** With a report: whether each compared field is the same, and the first ones that differ. */
  matches?: boolean;
  differences?: { field: string; report: unknown; recomputed: unknown }[];
  /** With a frozen report: whether its signature holds under the public key. */
  signature_valid?: boolean;
}

/**
 * `npm run cli -- sla:recompute FILE [--report R] [--public-key B64]`: recomputes a month from the raw minute rows
 * of GET /admin/api/sla/minutes (NDJSON), offline, with the gateway's own computation; with a report (the JSON of
 * GET /admin/api/sla/reports/{month}), says whether it matches it, minute for minute (every unavailable minute is
 * in its incidents), and whether its signature holds.
 */
export async function recompute(file: string, reportFile?: string, publicKey?: string): Promise<Recomputation> {
  let header: { month: string; measured_from: string; as_of: string; maintenance: { start: string; end: string }[]; end_line?: boolean } | undefined;
  const rows: MinuteFigures[] = [];
  let line = 0;
  let end: { minutes: number } | undefined;
  for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(text);
    } catch {
      throw new Error(`line ${line} of ${file} is not JSON`);
    }
    if (end) throw new Error(`line ${line} of ${file} comes after its end line: lines were added`);
    if (record.type === 'header') header = record as unknown as typeof header;
    else if (record.type === 'end') end = { minutes: Number(record.minutes) };
    else if (record.type === 'minute') {
      const { minute, requests, failures, failures_upstream, probes_ok, probes_failed, probes_failed_upstream } = record as Record<string, number & string>;
      rows.push({ minute: Date.parse(minute), requests, failures, failures_upstream, probes_ok, probes_failed, probes_failed_upstream });
    }
  }
  if (!header) throw new Error(`${file} has no header line: export it with GET /admin/api/sla/minutes?month=`);
  // Minutes missing count as unavailable: a file cut short would recompute a worse month than the one measured.
  if (header.end_line && !end) throw new Error(`${file} ends before its end line: it was cut short (export it again)`);
  if (end && end.minutes !== rows.length) {
    throw new Error(`the end line of ${file} counts ${end.minutes} minute rows, the file holds ${rows.length}: lines were removed or added`);
  }
  const report = reportFile ? JSON.parse(readFileSync(reportFile, 'utf8')) as Record<string, unknown> : undefined;
  // As of the report's freezing (or its own date): the same minutes the report measured.
  const asOf = Date.parse((report?.frozen_at as string | undefined) ?? header.as_of);
  const maintenance: MaintenanceSpan[] = header.maintenance.map((w) => ({ start: Date.parse(w.start), end: Date.parse(w.end) }));
  const recomputed = computeAvailability({ month: header.month, now: asOf, measuredFrom: Date.parse(header.measured_from), rows, maintenance });
  if (!report) return { recomputed };
  const differences = COMPARED.filter((field) => canonicalJson(report[field] ?? null) !== canonicalJson(recomputed[field] ?? null))
    .map((field) => ({ field, report: report[field], recomputed: recomputed[field] }));
  const result: Recomputation = { recomputed, matches: differences.length === 0, differences };
  if (report.signature) {
    const key = publicKey ?? (report.public_key as string | undefined);
    try {
      result.signature_valid = Boolean(key) && verify(null, Buffer.from(signedText(report)),
        createPublicKey({ key: Buffer.from(key!, 'base64'), format: 'der', type: 'spki' }), Buffer.from(String(report.signature), 'base64url'));
    } catch {
      result.signature_valid = false;
    }
  }
  return result;
}
