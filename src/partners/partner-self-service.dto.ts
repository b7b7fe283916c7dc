import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PLAIN_TEXT } from '../common/http/validators';

export class AcceptTermsDto {
  @ApiProperty({ example: '2026-01' })
  @IsString() @MinLength(1) @MaxLength(32)
  version!: string;
}

export class DisengagementDto {
  @ApiProperty({ example: 'Fin de la convention' })
  @IsString() @MinLength(3) @MaxLength(2000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  reason!: string;
}

export class IncidentDto {
  @ApiProperty({ example: 'Réponses 503 depuis 9h' })
  @IsString() @MinLength(3) @MaxLength(200) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  summary!: string;

  @ApiProperty({ example: 'Depuis 9h, une requête sur deux reçoit 503 upstream_unavailable.' })
  @IsString() @MinLength(3) @MaxLength(5000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  detail!: string;
}

export class PublishTermsDto {
  @ApiProperty({ example: '2027-01' })
  @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, { message: 'must be 1-32 letters, digits, dots, dashes or underscores' })
  version!: string;

  @ApiProperty({ example: '2027-01-01T00:00:00+01:00' })
  @IsISO8601({ strict: true }, { message: 'must be an ISO 8601 date-time' })
  effectiveAt!: string;

  @ApiProperty({ example: 'Nouvelle catégorie de données : exonérations.' })
  @IsString() @MinLength(3) @MaxLength(2000) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  summary!: string;

  @ApiPropertyOptional({ description: 'full text of the terms; defaults to the summary' })
  @IsOptional() @IsString() @MinLength(3) @MaxLength(100_000)
  text?: string;
}

export class NotificationsPageQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;
}
