export { AuditLog, type AuditLogOptions, createAuditLog } from "./audit-log.ts";
export {
  type AuditEventInput,
  type AuditEventType,
  type AuditRecord,
  type AuditUsage,
  buildRecord,
  chainHash,
  GENESIS_HASH,
} from "./record.ts";
export { type AuditVerifyResult, auditFiles, type VerifyOptions, verifyAuditChain } from "./verify.ts";
