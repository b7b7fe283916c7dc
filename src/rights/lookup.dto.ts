import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// Documentation of the lookup body for OpenAPI. Validation is parseLookupRequest (lookup-request.ts).

export class IdentiteDto {
  @ApiProperty({ example: 'DUPONT', description: "letters, spaces, ' and -" }) nom_naissance!: string;
  @ApiProperty({ example: ['Marie', 'Claire'] }) prenoms!: string[];
  @ApiProperty({ example: '1984-05-12', format: 'date' }) date_naissance!: string;
  @ApiProperty({ enum: ['F', 'M'] }) sexe!: string;
  @ApiPropertyOptional({ example: '75056', description: 'INSEE code of the birthplace' }) code_lieu_naissance?: string;
}

export class LookupDto {
  @ApiPropertyOptional({ example: '284057505612387', description: 'NIR (13 characters + 2-digit key); or identite, not both' })
  nir?: string;
  @ApiPropertyOptional({ type: IdentiteDto }) identite?: IdentiteDto;
  @ApiPropertyOptional({ example: '2026-11-23', format: 'date', description: 'default today (Europe/Paris); never in the future' })
  date_reference?: string;
  @ApiProperty({ example: '21690123100011', description: 'SIRET receiving the data; one the partner declared' })
  recipient!: string;
  @ApiPropertyOptional({ example: 'RSA', maxLength: 100 }) context?: string;
  @ApiProperty({ example: 'dossier 2026-001234', maxLength: 100, description: 'the case this access serves' }) object!: string;
  @ApiProperty({ example: 'agent-4711', description: "the agent in the partner's system" }) agent!: string;
}
