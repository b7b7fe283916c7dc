import { Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { ServerSecret } from '../common/server-secret';

/**
 * Pseudonymous references to persons: HMAC-SHA-256 under a server secret, of the NIR as resolved. One person
 * has one reference however looked up; the NIR itself never reaches the database or the logs.
 */
@Injectable()
export class SubjectRefs {
  private readonly key: Buffer;

  constructor(secret: ServerSecret) {
    this.key = secret.derive('audit-subject-ref');
  }

  forNir(nir: string): string {
    return createHmac('sha256', this.key).update(`nir:${nir}`).digest('hex');
  }

  /** For an identity lookup that matched no one: the normalised identity asked for. */
  forIdentity(identite: { nom_naissance: string; prenoms: string[]; date_naissance: string; sexe: string; code_lieu_naissance?: string }): string {
    const normalised = [identite.nom_naissance.toUpperCase(), identite.prenoms.map((p) => p.toUpperCase()).join(' '),
      identite.date_naissance, identite.sexe, identite.code_lieu_naissance ?? ''].join('|');
    return createHmac('sha256', this.key).update(`identite:${normalised}`).digest('hex');
  }
}
