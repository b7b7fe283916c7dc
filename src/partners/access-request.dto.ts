import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsDefined, IsEmail, IsIn, IsInt, IsObject, IsOptional, IsString,
  Matches, Max, MaxLength, Min, MinLength, ValidateNested,
} from 'class-validator';
import { IsScope, IsSiret, PLAIN_TEXT } from '../common/http/validators';
import { SCOPES } from '../rights/scopes';

/** Kinds of administration, used only to group the published usage statistics (DESIGN §3.1, §6). */
export const ORGANISATION_TYPES = ['caf', 'departement', 'commune', 'ccas', 'etat', 'autre'] as const;
export type OrganisationType = (typeof ORGANISATION_TYPES)[number];
const TYPE_REASON = `must be one of ${ORGANISATION_TYPES.join(', ')}`;

export class OrganisationDto {
  @ApiProperty({ example: 'CCAS de Lyon' })
  @IsString() @MinLength(2) @MaxLength(200) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  name!: string;

  @ApiProperty({ example: '21690123100011', description: '14 digits, Luhn-valid' })
  @IsSiret()
  siret!: string;

  @ApiPropertyOptional({ enum: ORGANISATION_TYPES, default: 'autre', description: 'used only for the published statistics' })
  @IsOptional() @IsIn(ORGANISATION_TYPES, { message: TYPE_REASON })
  type?: OrganisationType;
}

export class ContactDto {
  @ApiProperty({ example: 'Camille Martin' })
  @IsString() @MinLength(2) @MaxLength(200) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  name!: string;

  @ApiProperty({ example: 'camille.martin@ccas-lyon.fr' })
  @IsEmail({}, { message: 'must be an email address' }) @MaxLength(254)
  email!: string;
}

/** POST /v1/access-requests (DESIGN §3.1). */
export class AccessRequestDto {
  @ApiProperty({ type: OrganisationDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => OrganisationDto)
  organisation!: OrganisationDto;

  @ApiProperty({ type: ContactDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => ContactDto)
  contact!: ContactDto;

  @ApiProperty({ type: ContactDto })
  @IsDefined() @IsObject() @ValidateNested() @Type(() => ContactDto)
  technicalContact!: ContactDto;

  @ApiProperty({ example: 'article L114-8 CRPA' })
  @IsString() @MinLength(3) @MaxLength(2000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  legalBasis!: string;

  @ApiProperty({ example: "instruction des demandes d'aide sociale" })
  @IsString() @MinLength(3) @MaxLength(2000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  purpose!: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['droits.ouverture', 'droits.c2s'] })
  @IsArray() @ArrayMinSize(1) @ArrayUnique({ message: 'must not repeat a scope' }) @IsScope({ each: true })
  scopes!: string[];

  @ApiProperty({ example: 36, minimum: 1, maximum: 120 })
  @IsInt() @Min(1) @Max(120)
  retentionMonths!: number;

  @ApiProperty({ example: 500, minimum: 1 })
  @IsInt() @Min(1) @Max(10_000_000)
  expectedDailyVolume!: number;

  @ApiProperty({ example: ['21690123100011'], description: 'SIRETs that will receive the data' })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100) @ArrayUnique({ message: 'must not repeat a SIRET' })
  @IsSiret({ each: true, message: 'each must be a valid SIRET (14 digits, Luhn check)' })
  recipients!: string[];

  @ApiProperty({ example: '2026-01', description: 'must be the current version (GET /v1/terms/current)' })
  @IsString() @MaxLength(32)
  termsVersion!: string;
}

export class ApproveDto {
  @ApiPropertyOptional({ enum: SCOPES, isArray: true, description: 'narrows the requested scopes' })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsScope({ each: true })
  scopes?: string[];

  @ApiPropertyOptional({ example: 20 })
  @IsOptional() @IsInt() @Min(1) @Max(100_000)
  rateLimitPerSecond?: number;

  @ApiPropertyOptional({ enum: ORGANISATION_TYPES, description: "corrects the organisation's type given in the request" })
  @IsOptional() @IsIn(ORGANISATION_TYPES, { message: TYPE_REASON })
  organisationType?: OrganisationType;

  @ApiPropertyOptional({ example: 'Convention signée le 2026-11-02' })
  @IsOptional() @IsString() @MaxLength(2000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  note?: string;
}

export class ReasonDto {
  @ApiProperty({ example: 'Convention non signée' })
  @IsString() @MinLength(3) @MaxLength(2000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  reason!: string;
}

export class AccessRequestListQuery {
  @ApiPropertyOptional({ enum: ['pending', 'changes_requested', 'approved', 'rejected'] })
  @IsOptional() @Matches(/^(pending|changes_requested|approved|rejected)$/, { message: 'must be pending, changes_requested, approved or rejected' })
  status?: 'pending' | 'changes_requested' | 'approved' | 'rejected';
}

export class MessageDto {
  @ApiProperty({ example: 'Merci de préciser la base légale (article et code).' })
  @IsString() @MinLength(3) @MaxLength(2000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  message!: string;
}
