import type { LeasesService } from '../../core/leases/leases.service.js';
import type { LeakedPassword, RotationService } from '../../core/rotated-secrets/rotated-secrets.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { RequestContext } from '../../core/shared/context.js';
import { ErrorCodes, TesseraError, validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { Repos, UnitOfWork } from '../../core/shared/unit-of-work.js';
import { type CredentialKind, credentialKindOf } from '../../crypto/credentials.js';
import { parseShare } from '../../crypto/shamir.js';
import {
  describeLocation,
  type LeakFinding,
  type LeakLocation,
  type LeakOutcome,
  type LeakReportItem,
  MAX_LOCATIONS,
} from './leaks.model.js';
import { identifySessionToken, type Resolved, resolveByHash } from './leaks.resolve.js';

export interface LeaksServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  sessions: SessionsService;
  leases: Pick<LeasesService, 'revoke'>;
  rotation: Pick<RotationService, 'revokeLeaked'>;
  /** Keyed hash of a rotated password from its SHA-256 hex (what rotated secrets store, ADR 0036). */
  rotatedPasswordRef: (sha256Hex: string) => string;
  /** The id of the root key the server runs under (a reported key share of it is live). */
  rootKeyId: string;
}

/** What the reporter is told about one item: the same for a live, a dead and an unknown credential. */
export interface LeakReceipt {
  index: number;
  /** The finding recording it, when it had a Tessera shape or its hash was known. */
  findingId: string | null;
  /** The credential's keyed audit hash (`POST /v1/audit/hash`), when it was sent in full. */
  auditHash: string | null;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Report and revoke (ADR 0020): each reported credential is identified by its hash, revoked when
 * live, its owner alerted (the `leak.revoked` audit event raises `credential_leaked`), and recorded
 * as a finding with where it was found. Idempotent per credential. The reporter's receipt does not
 * depend on what the credential was, and every item costs one write with its audit event, so the
 * endpoint is no oracle for whether a string is a live credential.
 */
export function createLeaksService(deps: LeaksServiceDeps) {
  const { uow, clock, credentials, sessions, leases, rotation } = deps;
  const resolveDeps = {
    sessions,
    nowMs: () => clock.nowMs(),
    rotatedPasswordRef: deps.rotatedPasswordRef,
  };

  async function record(
    r: Repos,
    item: {
      hash: string;
      kind: CredentialKind | null;
      auditHash: string | null;
      location?: LeakLocation;
      /** A key share: the root key it belongs to. */
      shareKeyId?: string;
    },
    resolved: Resolved | null,
    ctx: RequestContext,
  ): Promise<{
    finding: LeakFinding | null;
    revokeLease: string | null;
    rotate: { name: string; which: LeakedPassword } | null;
  }> {
    const now = clock.nowMs();
    const location = describeLocation(item.location);
    const previous = await r.leaks.findByHash(item.hash);
    const kind = resolved?.kind ?? previous?.kind ?? item.kind;
    let outcome: LeakOutcome = 'unknown';
    let revokeLease: string | null = null;
    let rotate: { name: string; which: LeakedPassword } | null = null;
    const liveShare = item.shareKeyId !== undefined && item.shareKeyId === deps.rootKeyId;
    if (item.shareKeyId !== undefined) outcome = liveShare ? 'action_required' : 'already_dead';
    else if (previous && previous.outcome !== 'unknown') outcome = 'already_dead';
    else if (resolved?.live) {
      outcome = 'revoked';
      await resolved.revoke(`leaked (finding reported by request ${ctx.requestId})`);
      revokeLease = resolved.leaseId ?? null;
      rotate = resolved.rotated ?? null;
    } else if (resolved) outcome = 'already_dead';
    let finding: LeakFinding | null = null;
    if (kind) {
      const locations = previous?.locations ?? [];
      if (item.location && !locations.some((l) => describeLocation(l) === location))
        locations.push(item.location);
      finding = {
        id: previous?.id ?? credentials.newId('lf-'),
        credentialHash: item.hash,
        kind,
        // A share's state follows the root key; anything else keeps what its first report found.
        outcome:
          item.shareKeyId === undefined && previous && previous.outcome !== 'unknown'
            ? previous.outcome
            : outcome,
        identityId: resolved?.identityId ?? previous?.identityId ?? null,
        auditHash: previous?.auditHash ?? item.auditHash,
        locations: locations.slice(-MAX_LOCATIONS),
        reportCount: (previous?.reportCount ?? 0) + 1,
        firstReportedAtMs: previous?.firstReportedAtMs ?? now,
        lastReportedAtMs: now,
      };
      if (previous) await r.leaks.update(finding);
      else await r.leaks.insert(finding);
    }
    await r.audit.append(
      {
        type: 'leak.reported',
        outcome: 'success',
        actor: {},
        resource: finding ? `/leaks/${finding.id}` : null,
        data: {
          findingId: finding?.id ?? null,
          kind,
          outcome,
          auditHash: item.auditHash,
          location,
          repeat: previous !== null,
        },
      },
      ctx,
      now,
    );
    if (liveShare && finding && previous?.outcome !== 'action_required') {
      await r.audit.append(
        {
          type: 'leak.unseal_share_live',
          outcome: 'success',
          actor: {},
          resource: `/leaks/${finding.id}`,
          data: { findingId: finding.id, keyId: item.shareKeyId, auditHash: item.auditHash, location },
        },
        ctx,
        now,
      );
    }
    if (outcome === 'revoked' && finding) {
      const identity = finding.identityId ? await r.identities.get(finding.identityId) : null;
      await r.audit.append(
        {
          type: 'leak.revoked',
          outcome: 'success',
          actor: {},
          resource: `/leaks/${finding.id}`,
          data: {
            findingId: finding.id,
            kind: finding.kind,
            identityId: finding.identityId,
            identityName: identity?.name ?? null,
            owner: resolved?.owner ?? identity?.owner ?? null,
            rotatedSecret: resolved?.rotated?.name ?? null,
            auditHash: item.auditHash,
            location,
          },
        },
        ctx,
        now,
      );
    }
    return { finding, revokeLease, rotate };
  }

  /**
   * Replaces a leaked rotated password on its target (after the commit). A rotation already holding
   * the row is waited for (a few seconds at most); should the target refuse, the failure is audited
   * (`rotated_secret.rotation_failed`, which alerts) and the row's retry is due with backoff.
   */
  async function rotateLeaked(rotate: { name: string; which: LeakedPassword }, ctx: RequestContext) {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await rotation.revokeLeaked(rotate.name, rotate.which, ctx);
        return;
      } catch (error) {
        if (!(error instanceof TesseraError) || error.code !== ErrorCodes.CONFLICT) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async function reportOne(item: LeakReportItem, index: number, ctx: RequestContext): Promise<LeakReceipt> {
    if ((item.credential === undefined) === (item.hash === undefined))
      throw validationError('Each item needs exactly one of credential and hash.', {
        field: `items/${index}`,
      });
    if (item.hash !== undefined && !HEX64.test(item.hash))
      throw validationError('hash is the SHA-256 of the credential, 64 lowercase hex digits.', {
        field: `items/${index}/hash`,
      });
    const value = item.credential;
    // A string without a Tessera shape is not looked up: the reporter can tell that much offline.
    const kind = value === undefined ? null : credentialKindOf(value);
    const bare =
      value !== undefined && kind === 'session_token' && value.startsWith('t-') ? value.slice(2) : value;
    const hash = bare === undefined ? item.hash! : credentials.hashCredential(bare);
    const auditHash = bare === undefined ? null : credentials.auditRef(bare);
    const session = kind === 'session_token' ? await identifySessionToken(bare!, resolveDeps) : null;
    const shareKeyId = kind === 'unseal_share' ? parseShare(value!).keyId : undefined;
    const lookUp = value === undefined || (kind !== null && kind !== 'session_token' && !shareKeyId);
    const { finding, revokeLease, rotate } = await uow.write(async (r) => {
      const resolved = session ? session(r) : lookUp ? await resolveByHash(r, hash, resolveDeps) : null;
      return record(
        r,
        { hash, kind, auditHash, location: item.location, ...(shareKeyId ? { shareKeyId } : {}) },
        resolved,
        ctx,
      );
    });
    // The account is dropped on its target after the commit (no I/O inside a transaction); should
    // that fail, the lease stays due and the reaper retries it.
    if (revokeLease) await leases.revoke(revokeLease, ctx).catch(() => {});
    if (rotate) await rotateLeaked(rotate, ctx);
    return { index, findingId: finding?.id ?? null, auditHash };
  }

  return {
    /** Reports leaked credentials; one transaction (and audit event) per item. */
    async report(items: readonly LeakReportItem[], ctx: RequestContext): Promise<LeakReceipt[]> {
      const receipts: LeakReceipt[] = [];
      for (const [index, item] of items.entries()) receipts.push(await reportOne(item, index, ctx));
      return receipts;
    },

    get: (id: string) => uow.read((r) => r.leaks.get(id)),

    async list(filter: { outcome?: LeakOutcome; identityId?: string }, limit: number, cursor: string | null) {
      const rows = await uow.read((r) => r.leaks.list(filter, limit + 1, cursor));
      const page = rows.slice(0, limit);
      return { items: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
    },

    /** For the `lease.credential_issued` event, inside the transaction that activated the lease. */
    rememberLeaseCredential: (r: Repos, credentialHash: string, leaseId: string) =>
      r.leaks.putLeaseCredential(credentialHash, leaseId, clock.nowMs()),

    /** Lease credentials older than any lease can live are of no use any more. */
    pruneLeaseCredentials: (maxLeaseMs: number) =>
      uow.write((r) => r.leaks.pruneLeaseCredentials(clock.nowMs() - maxLeaseMs)),
  };
}

export type LeaksService = ReturnType<typeof createLeaksService>;
