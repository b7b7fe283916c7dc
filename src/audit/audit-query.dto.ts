import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);

/** from (inclusive) and to (exclusive), ISO 8601 dates or date-times. */
export class TimeRangeQuery {
  @ApiPropertyOptional({ example: '2026-11-01' }) @IsOptional() @IsISO8601({ strict: true }, { message: 'must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-12-01' }) @IsOptional() @IsISO8601({ strict: true }, { message: 'must be an ISO 8601 date or date-time' })
  to?: string;
}

export class AccessesQuery extends TimeRangeQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100)
  agent?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 }) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500)
  limit?: number;
}

export class AuditQuery extends AccessesQuery {
  @ApiPropertyOptional() @IsOptional() @IsUUID('all', { message: 'must be a partner id' })
  partner?: string;

  @ApiPropertyOptional({ description: 'pseudonymised with the same HMAC before the query; never stored' })
  @IsOptional() @IsString() @MaxLength(30)
  subject_nir?: string;

  @ApiPropertyOptional({ enum: ['lookup', 'action', 'probe'] }) @IsOptional() @IsIn(['lookup', 'action', 'probe'])
  kind?: 'lookup' | 'action' | 'probe';
}

export class ExportQuery extends TimeRangeQuery {
  @ApiPropertyOptional() @IsOptional() @IsUUID('all', { message: 'must be a partner id' })
  partner?: string;

  @ApiPropertyOptional({ enum: ['ndjson', 'csv'], default: 'ndjson' }) @IsOptional() @Matches(/^(ndjson|csv)$/, { message: 'must be ndjson or csv' })
  format?: 'ndjson' | 'csv';
}

export class VerifyQuery extends TimeRangeQuery {}
