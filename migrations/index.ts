import { Initial1763900000001 } from './001-initial';
import { MaintenanceWindows1763900000002 } from './002-maintenance-windows';
import { AuditTrail1763900000003 } from './003-audit-trail';
import { AuditSealFunction1763900000004 } from './004-audit-seal-function';
import { AuditEntriesInPlace1763900000005 } from './005-audit-entries-in-place';
import { AuditHardening1763900000006 } from './006-audit-hardening';
import { Availability1763900000007 } from './007-availability';
import { OpenData1763900000008 } from './008-open-data';
import { OperatorSecondFactor1763900000009 } from './009-operator-second-factor';
import { NotificationDelivery1763900000010 } from './010-notification-delivery';
import { CredentialExpiry1763900000011 } from './011-credential-expiry';
import { AccessRequestConversation1763900000012 } from './012-access-request-conversation';
import { Webhooks1763900000013 } from './013-webhooks';
import { AuditVerifications1763900000014 } from './014-audit-verifications';
import { NotificationIndexes1763900000015 } from './015-notification-indexes';

/** Every migration, in order. Listed explicitly so that the same list serves the compiled app, the CLI and tests. */
export const MIGRATIONS = [Initial1763900000001, MaintenanceWindows1763900000002, AuditTrail1763900000003, AuditSealFunction1763900000004,
  AuditEntriesInPlace1763900000005, AuditHardening1763900000006, Availability1763900000007,
  OpenData1763900000008, OperatorSecondFactor1763900000009,
  NotificationDelivery1763900000010, CredentialExpiry1763900000011,
  AccessRequestConversation1763900000012, Webhooks1763900000013,
  AuditVerifications1763900000014, NotificationIndexes1763900000015];
