import { luhn } from '../../src/partners/siret';
import { client } from './http';
import { OPERATOR, TestApp } from './test-app';

/** A Luhn-valid SIRET built from 13 digits. */
export function makeSiret(first13: string): string {
  for (let digit = 0; digit <= 9; digit++) {
    if (luhn(first13 + digit)) return first13 + digit;
  }
  throw new Error('unreachable');
}

export const SIRET_CCAS_LYON = makeSiret('2169012310001');

export function accessRequestBody(overrides: Record<string, unknown> = {}) {
  return {
    organisation: { name: 'CCAS de Lyon', siret: SIRET_CCAS_LYON },
    contact: { name: 'Camille Martin', email: 'camille.martin@ccas-lyon.fr' },
    technicalContact: { name: 'Alex Bernard', email: 'dsi@ccas-lyon.fr' },
    legalBasis: 'article L114-8 CRPA',
    purpose: "instruction des demandes d'aide sociale",
    scopes: ['droits.ouverture', 'droits.c2s'],
    retentionMonths: 36,
    expectedDailyVolume: 500,
    recipients: [SIRET_CCAS_LYON],
    termsVersion: '2026-01',
    ...overrides,
  };
}

export async function operatorToken(t: TestApp, credentials = OPERATOR): Promise<string> {
  const answer = await client(t.url).post('/admin/api/session', credentials);
  if (answer.status !== 200) throw new Error(`login failed: ${answer.status} ${answer.text}`);
  return answer.body.token;
}

export interface OnboardedPartner {
  partnerId: string;
  clientId: string;
  clientSecret: string;
  operator: string;
}

/** Submits an access request and approves it, through the public API; returns the credentials. */
export async function onboardPartner(t: TestApp, request: Record<string, unknown> = {},
  approval: Record<string, unknown> = {}): Promise<OnboardedPartner> {
  const api = client(t.url);
  const submitted = await api.post('/v1/access-requests', accessRequestBody(request));
  if (submitted.status !== 201) throw new Error(`submit failed: ${submitted.status} ${submitted.text}`);
  const operator = await operatorToken(t);
  const approved = await api.post(`/admin/api/access-requests/${submitted.body.id}/approve`,
    { note: 'convention signée', ...approval }, { token: operator });
  if (approved.status !== 200) throw new Error(`approve failed: ${approved.status} ${approved.text}`);
  return { partnerId: approved.body.partner.id, clientId: approved.body.credentials.client_id,
    clientSecret: approved.body.credentials.client_secret, operator };
}

export function basic(clientId: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
}

export async function requestToken(t: TestApp, partner: { clientId: string; clientSecret: string }, scope?: string) {
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope !== undefined ? { scope } : {}) });
  return client(t.url).send('POST', '/oauth/token', {
    raw: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret) },
  });
}

export async function partnerToken(t: TestApp, partner: { clientId: string; clientSecret: string }, scope?: string): Promise<string> {
  const answer = await requestToken(t, partner, scope);
  if (answer.status !== 200) throw new Error(`token failed: ${answer.status} ${answer.text}`);
  return answer.body.access_token;
}

/** `count` operator actions, each an entry of the trail: access requests submitted, then rejected with `token`. */
export async function rejectedRequests(url: string, token: string, count: number): Promise<void> {
  const api = client(url);
  for (let i = 0; i < count; i++) {
    const submitted = await api.post('/v1/access-requests', accessRequestBody());
    await api.post(`/admin/api/access-requests/${submitted.body.id}/reject`, { reason: `motif ${i}` }, { token });
  }
}
