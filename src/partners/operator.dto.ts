import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMinSize, IsArray, IsEmail, IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { PLAIN_TEXT } from '../common/http/validators';
import { OPERATOR_ROLES } from './operators.repository';

export class SessionDto {
  @ApiProperty({ example: 'admin@dinsic.localhost' })
  @IsString() @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString() @MaxLength(1024)
  password!: string;

  @ApiPropertyOptional({ example: '492039', description: 'once a TOTP authenticator is enrolled: its current code, or a recovery code' })
  @IsOptional() @IsString() @MaxLength(20)
  totp?: string;
}

export class CreateOperatorDto {
  @ApiProperty({ example: 'auditeur@dinsic.gouv.fr' })
  @IsEmail({}, { message: 'must be an email address' }) @MaxLength(254)
  email!: string;

  @ApiProperty({ minLength: 12, example: 'une phrase de passe assez longue' })
  @IsString() @MinLength(12) @MaxLength(1024)
  password!: string;

  @ApiProperty({ enum: OPERATOR_ROLES, isArray: true })
  @IsArray() @ArrayMinSize(1) @IsIn(OPERATOR_ROLES, { each: true, message: `each must be one of ${OPERATOR_ROLES.join(', ')}` })
  roles!: string[];

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(200) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  displayName?: string;
}

export class NotificationsQuery {
  @ApiPropertyOptional() @IsOptional() @IsUUID('all', { message: 'must be a partner id' })
  partner?: string;

  @ApiPropertyOptional({ enum: ['pending', 'sent', 'failed'] }) @IsOptional() @IsIn(['pending', 'sent', 'failed'], { message: 'must be pending, sent or failed' })
  status?: 'pending' | 'sent' | 'failed';
}

export class WebhookDto {
  @ApiProperty({ example: 'https://sif.caf-exemple.fr/webhooks/api-droits-cnam',
    description: 'https only; must resolve to public addresses (DESIGN §3.6)' })
  @IsString() @MaxLength(2000) @Matches(/^https:\/\/\S+$/i, { message: 'must be an https:// URL' })
  url!: string;
}
