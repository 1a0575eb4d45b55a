// One shape for the two key lists the console shows: the user's own keys
// (/v1) and their team workspace's keys (/api/v1/workspaces). Views work on
// KeyRow and KeySource and do not care which API is behind them.
import type { Api, ApiKey, KeyStatus, Usage, UpdateKeyRequest, WorkspaceKey } from "./api";

export interface KeyRow {
  id: string;
  prefix: string;
  name: string;
  status: KeyStatus;
  dailyLimit: number;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  rotatedTo?: string;
  revokedAt?: string;
  revokedReason?: string;
  createdBy?: string;
}

export interface NewKeyInput {
  name: string;
  dailyLimit?: number;
  expiresAt?: string;
}

/** A key just made: the row and the full key, which is shown once. */
export interface Issued {
  row: KeyRow;
  key: string;
}

export interface KeySource {
  kind: "personal" | "workspace";
  /** Keys may be renamed and re-limited (the workspace API has no PATCH). */
  editable: boolean;
  list(): Promise<KeyRow[]>;
  usage(days: number): Promise<Usage>;
  create(input: NewKeyInput): Promise<Issued>;
  rotate(row: KeyRow, gracePeriodSeconds: number): Promise<Issued>;
  revoke(row: KeyRow): Promise<void>;
  update(row: KeyRow, changes: UpdateKeyRequest): Promise<KeyRow>;
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
  rotatedTo: k.rotatedTo,
  revokedAt: k.revokedAt,
  revokedReason: k.revokedReason,
});

const fromWorkspace = (k: WorkspaceKey): KeyRow => ({
  id: k.id,
  prefix: k.key_prefix,
  name: k.name,
  status: k.status,
  dailyLimit: k.daily_limit,
  createdAt: k.created_at,
  lastUsedAt: k.last_used_at,
  expiresAt: k.expires_at,
  rotatedTo: k.rotated_to,
  revokedAt: k.revoked_at,
  createdBy: k.created_by,
});

export function personalKeys(api: Api): KeySource {
  return {
    kind: "personal",
    editable: true,
    list: async () => (await api.listKeys()).map(fromV1),
    usage: (days) => api.usage(days),
    create: async (input) => {
      const k = await api.createKey(input);
      return { row: fromV1(k), key: k.key };
    },
    rotate: async (row, grace) => {
      const k = await api.rotateKey(row.prefix, grace);
      return { row: fromV1(k), key: k.key };
    },
    revoke: (row) => api.revokeKey(row.prefix),
    update: async (row, changes) => fromV1(await api.updateKey(row.prefix, changes)),
  };
}

export function workspaceKeys(api: Api, ws: string): KeySource {
  return {
    kind: "workspace",
    editable: false,
    list: async () => (await api.listWorkspaceKeys(ws)).map(fromWorkspace),
    usage: (days) => api.usage(days, ws),
    create: async (input) => {
      const k = await api.createWorkspaceKey(ws, {
        name: input.name,
        daily_limit: input.dailyLimit,
        expires_at: input.expiresAt,
      });
      return { row: fromWorkspace(k), key: k.key };
    },
    rotate: async (row, grace) => {
      const k = await api.rotateWorkspaceKey(ws, row.id, grace);
      return { row: fromWorkspace(k), key: k.key };
    },
    revoke: (row) => api.revokeWorkspaceKey(ws, row.id),
    update: () => Promise.reject(new Error("Workspace keys cannot be edited.")),
  };
}
