// One shape for the two key lists the console shows: the user's own keys
// (/v1) and their team workspace's keys (/api/v1/workspaces). Views work on
// KeyRow and KeySource and do not care which API is behind them.
import type {
  Api,
  ApiKey,
  CreatedKey,
  CreatedWorkspaceKey,
  KeyStatus,
  RevokedReason,
  RotatedKey,
  RotatedWorkspaceKey,
  Scope,
  UpdateKeyRequest,
  Usage,
  WorkspaceKey,
} from "./api";

export interface KeyRow {
  id: string;
  prefix: string;
  name: string;
  status: KeyStatus;
  dailyLimit: number;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  /** The prefix of the key this one replaced (a rotation's successor). */
  rotatedFrom?: string;
  /** The prefix of the key that replaced this one. */
  rotatedTo?: string;
  revokedAt?: string;
  revokedReason?: RevokedReason;
  /** GitHub reported the key in public code: when (if known) and where. */
  leak?: { at?: string; url?: string };
  /** Who made a workspace key: their sub, and their email when their token had one. */
  createdBy?: { sub: string; email: string | null };
  /** The scopes the key may call: ["*"] for all, else sorted names. */
  scopes: string[];
  /** The networks the key may be used from; empty: anywhere. */
  allowedIps: string[];
}

/** A key's scopes and networks as a form gives them: absent means the API's default (create) or unchanged. */
export interface AccessInput {
  /** ["*"] for every scope, else names from the deployment's scopes. */
  scopes?: string[];
  /** Networks (CIDR ranges or addresses); [] for anywhere. */
  allowedIps?: string[];
}

export interface NewKeyInput extends AccessInput {
  name: string;
  dailyLimit?: number;
  expiresAt?: string;
}

export interface RotateInput extends AccessInput {
  gracePeriodSeconds: number;
}

/** A key just made: the row and the full key, which is shown once. */
export interface Issued {
  row: KeyRow;
  key: string;
}

export interface KeySource {
  kind: "personal" | "workspace";
  /** Keys may be edited after creation (the workspace API has no PATCH). */
  editable: boolean;
  list(): Promise<KeyRow[]>;
  usage(days: number): Promise<Usage>;
  /** The scopes a key may be limited to (the deployment's, the same for both lists). */
  scopes(): Promise<Scope[]>;
  create(input: NewKeyInput): Promise<Issued>;
  rotate(row: KeyRow, input: RotateInput): Promise<Issued>;
  revoke(row: KeyRow): Promise<void>;
  update(row: KeyRow, changes: UpdateKeyRequest): Promise<KeyRow>;
}

// Every field of every key object the API sends is named below: read into a
// KeyRow, or left out with the reason. `satisfies` makes a field the document
// adds (missing here) or renames (unknown here) a compile error, so the
// console decides what to show for it instead of silently dropping it.
export const v1KeyFields = {
  prefix: "read",
  id: "read",
  name: "read",
  dailyLimit: "read",
  status: "read",
  createdAt: "read",
  updatedAt: "not shown: every change the card shows has its own field",
  lastUsedAt: "read",
  expiresAt: "read",
  rotatedFrom: "read",
  rotatedTo: "read",
  revokedAt: "read",
  revokedReason: "read",
  leakedAt: "read",
  leakedUrl: "read",
  scopes: "read",
  allowedIps: "read",
} as const satisfies Record<keyof ApiKey, string>;

export const v1IssuedFields = {
  key: "shown once, never kept in a row",
  prefix: "read",
  id: "read",
  name: "read",
  dailyLimit: "read",
  status: "read",
  createdAt: "read",
  expiresAt: "read",
  rotatedFrom: "read",
  scopes: "read",
  allowedIps: "read",
} as const satisfies Record<keyof CreatedKey | keyof RotatedKey, string>;

export const workspaceKeyFields = {
  id: "read",
  workspace_id: "not shown: the tab names the workspace",
  name: "read",
  key_prefix: "read",
  status: "read",
  created_by: "read",
  created_by_email: "read",
  created_at: "read",
  updated_at: "not shown: every change the card shows has its own field",
  daily_limit: "read",
  last_used_at: "read",
  expires_at: "read",
  revoked_at: "read",
  revoked_reason: "read",
  leaked_url: "read",
  rotated_from: "read, as the prefix of the key it names",
  rotated_to: "read, as the prefix of the key it names",
  scopes: "read",
  allowed_ips: "read",
} as const satisfies Record<keyof WorkspaceKey, string>;

export const workspaceIssuedFields = {
  id: "read",
  workspace_id: "not shown: the tab names the workspace",
  name: "read",
  key: "shown once, never kept in a row",
  key_prefix: "read",
  status: "read",
  created_by: "read",
  created_by_email: "read",
  created_at: "read",
  updated_at: "not shown",
  daily_limit: "read",
  last_used_at: "read",
  expires_at: "read",
  rotated_from: "read, as the prefix of the key it names",
  scopes: "read",
  allowed_ips: "read",
} as const satisfies Record<keyof CreatedWorkspaceKey | keyof RotatedWorkspaceKey, string>;

function leakOf(at?: string, url?: string): KeyRow["leak"] {
  return at || url ? { at, url } : undefined;
}

const fromV1 = (k: ApiKey): KeyRow => ({
  id: k.id,
  prefix: k.prefix,
  name: k.name,
  status: k.status,
  dailyLimit: k.dailyLimit,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  expiresAt: k.expiresAt,
  rotatedFrom: k.rotatedFrom,
  rotatedTo: k.rotatedTo,
  revokedAt: k.revokedAt,
  revokedReason: k.revokedReason,
  leak: leakOf(k.leakedAt, k.leakedUrl),
  scopes: k.scopes,
  allowedIps: k.allowedIps,
});

const fromV1Issued = (k: CreatedKey | RotatedKey): KeyRow => ({
  id: k.id,
  prefix: k.prefix,
  name: k.name,
  status: k.status,
  dailyLimit: k.dailyLimit,
  createdAt: k.createdAt,
  lastUsedAt: null,
  expiresAt: k.expiresAt,
  rotatedFrom: "rotatedFrom" in k ? k.rotatedFrom : undefined,
  scopes: k.scopes,
  allowedIps: k.allowedIps,
});

/** Workspace keys name their rotation partners by id; rows name them by prefix. */
type PrefixOf = (id: string | undefined) => string | undefined;

const fromWorkspace = (k: WorkspaceKey, prefixOf: PrefixOf): KeyRow => ({
  id: k.id,
  prefix: k.key_prefix,
  name: k.name,
  status: k.status,
  dailyLimit: k.daily_limit,
  createdAt: k.created_at,
  lastUsedAt: k.last_used_at,
  expiresAt: k.expires_at,
  rotatedFrom: prefixOf(k.rotated_from),
  rotatedTo: prefixOf(k.rotated_to),
  revokedAt: k.revoked_at,
  revokedReason: k.revoked_reason,
  leak: k.revoked_reason === "leaked" || k.leaked_url ? leakOf(undefined, k.leaked_url) ?? {} : undefined,
  createdBy: { sub: k.created_by, email: k.created_by_email ?? null },
  scopes: k.scopes,
  allowedIps: k.allowed_ips,
});

const fromWorkspaceIssued = (k: CreatedWorkspaceKey | RotatedWorkspaceKey, rotatedFrom?: string): KeyRow => ({
  id: k.id,
  prefix: k.key_prefix,
  name: k.name,
  status: k.status,
  dailyLimit: k.daily_limit,
  createdAt: k.created_at,
  lastUsedAt: k.last_used_at,
  expiresAt: k.expires_at,
  rotatedFrom,
  createdBy: { sub: k.created_by, email: k.created_by_email ?? null },
  scopes: k.scopes,
  allowedIps: k.allowed_ips,
});

export function personalKeys(api: Api): KeySource {
  return {
    kind: "personal",
    editable: true,
    list: async () => (await api.listKeys()).map(fromV1),
    usage: (days) => api.usage(days),
    scopes: () => api.listScopes(),
    create: async (input) => {
      const k = await api.createKey(input);
      return { row: fromV1Issued(k), key: k.key };
    },
    rotate: async (row, input) => {
      const k = await api.rotateKey(row.prefix, input);
      return { row: fromV1Issued(k), key: k.key };
    },
    revoke: (row) => api.revokeKey(row.prefix),
    update: async (row, changes) => fromV1(await api.updateKey(row.prefix, changes)),
  };
}

export function workspaceKeys(api: Api, ws: string): KeySource {
  return {
    kind: "workspace",
    editable: false,
    list: async () => {
      const keys = await api.listWorkspaceKeys(ws);
      const prefixes = new Map(keys.map((k) => [k.id, k.key_prefix]));
      return keys.map((k) => fromWorkspace(k, (id) => (id ? prefixes.get(id) : undefined)));
    },
    usage: (days) => api.usage(days, ws),
    scopes: () => api.listScopes(),
    create: async (input) => {
      const k = await api.createWorkspaceKey(ws, {
        name: input.name,
        daily_limit: input.dailyLimit,
        expires_at: input.expiresAt,
        scopes: input.scopes,
        allowed_ips: input.allowedIps,
      });
      return { row: fromWorkspaceIssued(k), key: k.key };
    },
    rotate: async (row, input) => {
      const k = await api.rotateWorkspaceKey(ws, row.id, {
        grace_period_seconds: input.gracePeriodSeconds,
        scopes: input.scopes,
        allowed_ips: input.allowedIps,
      });
      return { row: fromWorkspaceIssued(k, row.prefix), key: k.key };
    },
    revoke: (row) => api.revokeWorkspaceKey(ws, row.id),
    update: () => Promise.reject(new Error("Workspace keys cannot be edited.")),
  };
}
