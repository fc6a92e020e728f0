import type { ServerPolicy } from './mcp.policy.js';

/** How the gateway authenticates to an upstream. The caller's token is never forwarded. */
export type UpstreamAuth =
  | { kind: 'none' }
  /** A static secret from the vault, sent as `Authorization: Bearer <value>` (or `header`). */
  | { kind: 'secret'; item: string; header?: string }
  /** A token Tessera mints for `audience` (RFC 8693 style: the caller as `sub`, the gateway in `act`). */
  | { kind: 'token-exchange'; audience: string; scope?: string };

/** One tool definition as the upstream described it, and its pinned hash. */
export interface ToolDefinition {
  name: string;
  description?: string;
  inputSchema?: unknown;
  annotations?: unknown;
  title?: string;
}

export interface PinnedTool {
  hash: string;
  definition: ToolDefinition;
  approvedAtMs: number;
}

export interface McpServerRecord {
  name: string;
  /** The inventory identity (kind `mcp-server`) that stands for this upstream, with its owner. */
  identityId: string;
  transport: 'http' | 'stdio';
  url: string | null;
  /** The program and its arguments (stdio). */
  command: string[] | null;
  upstreamAuth: UpstreamAuth;
  /** How long one upstream request may take (504 `upstream_timeout` after). */
  timeoutMs: number;
  /** Scopes every caller's token must carry (else 403 insufficient_scope: step-up). */
  requiredScopes: string[];
  policy: ServerPolicy;
  /** The approved catalogue, by tool name. */
  pinned: Record<string, PinnedTool>;
  createdAtMs: number;
  updatedAtMs: number;
}

/** A refusal on the MCP door: a JSON-RPC error (HTTP 200/400…) with a stable code. */
export class McpError extends Error {
  constructor(
    readonly rpcCode: number,
    readonly code: string,
    message: string,
    readonly httpStatus = 200,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** JSON-RPC and MCP error codes the gateway answers with. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** Tessera: the policy refused the call. */
  denied: -32001,
  /** Tessera: the call waits for a human's approval (data.approvalId). */
  approvalRequired: -32002,
  /** Tessera: the upstream failed, hung or answered garbage. */
  upstream: -32003,
  /** 2026-07-28: a header disagrees with the body. */
  headerMismatch: -32020,
  unsupportedVersion: -32022,
} as const;

export const LEGACY_VERSIONS = ['2025-06-18', '2025-11-25', '2025-03-26'] as const;
export const MODERN_VERSION = '2026-07-28';

// ------------------------------------------------------------------------------------------------
// The approvals capability's service, named in the module's deps.

export type {
  ApprovalAction,
  ApprovalRequest,
  ApprovalStatus,
  Approvers,
  Requester,
} from '../approvals/approvals.model.js';
export type { ApprovalsService as ApprovalsPort } from '../approvals/approvals.service.js';
