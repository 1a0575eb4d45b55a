// The one module that talks to the keygate API (the contract in API.md):
// typed requests and answers, and every error as an ApiError carrying the
// envelope's code and message. Views call these methods, never fetch.

export type KeyStatus = "active" | "revoked" | "expired" | "suspended";

/** A key as GET /v1/api-keys lists it. */
export interface ApiKey {
  prefix: string;
  id: string;
  name: string;
  dailyLimit: number;
  status: KeyStatus;
  createdAt: string;
  updatedAt?: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  rotatedFrom?: string;
  rotatedTo?: string;
  revokedAt?: string;
  revokedReason?: "owner" | "leaked" | "admin";
}

/** A key as created or rotated: the only time the full key is shown. */
export interface NewApiKey extends ApiKey {
  key: string;
}

export interface CreateKeyRequest {
  name: string;
  dailyLimit?: number;
  expiresAt?: string;
}

export interface UpdateKeyRequest {
  name?: string;
  dailyLimit?: number;
  expiresAt?: string | null;
}

export interface DayUsage {
  date: string;
  used: number;
}

export interface KeyUsage {
  prefix: string;
  name: string;
  dailyLimit: number;
  used: number;
  remaining: number;
  history?: DayUsage[];
}

export interface Usage {
  date: string;
  resetsAt: string;
  keys: KeyUsage[];
}

/** A workspace key as the workspace API shows it (snake_case, bare JSON). */
export interface WorkspaceKey {
  id: string;
  workspace_id: string;
  name: string;
  key?: string;
  key_prefix: string;
  status: KeyStatus;
  created_by: string;
  created_at: string;
  updated_at: string;
  daily_limit: number;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at?: string;
  rotated_from?: string;
  rotated_to?: string;
}

export interface CreateWorkspaceKeyRequest {
  name: string;
  daily_limit?: number;
  expires_at?: string;
}

/** Any failed call: the envelope's code and message, or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

export class Api {
  private readonly base: string;

  constructor(
    apiUrl: string,
    private readonly token: () => Promise<string>,
  ) {
    this.base = apiUrl.replace(/\/+$/, "");
  }

  // ---- /v1: the caller's own keys (envelope, camelCase)

  /** Every key of the caller, whatever its status, newest first. */
  async listKeys(): Promise<ApiKey[]> {
    return (await this.v1<{ keys: ApiKey[] }>("GET", "/v1/api-keys?status=all")).keys;
  }

  createKey(req: CreateKeyRequest): Promise<NewApiKey> {
    return this.v1("POST", "/v1/api-keys", req);
  }

  updateKey(prefix: string, req: UpdateKeyRequest): Promise<ApiKey> {
    return this.v1("PATCH", `/v1/api-keys/${encodeURIComponent(prefix)}`, req);
  }

  rotateKey(prefix: string, gracePeriodSeconds: number): Promise<NewApiKey> {
    return this.v1("POST", `/v1/api-keys/${encodeURIComponent(prefix)}/rotate`, { gracePeriodSeconds });
  }

  async revokeKey(prefix: string): Promise<void> {
    await this.v1("DELETE", `/v1/api-keys/${encodeURIComponent(prefix)}`);
  }

  /** Today's usage of the active keys, with `days` of history (oldest first). */
  usage(days: number, workspace?: string): Promise<Usage> {
    const q = new URLSearchParams({ days: String(days) });
    if (workspace) q.set("workspace", workspace);
    return this.v1("GET", `/v1/usage?${q}`);
  }

  // ---- /api/v1/workspaces: a team's keys (bare JSON, snake_case)

  listWorkspaceKeys(ws: string): Promise<WorkspaceKey[]> {
    return this.bare("GET", ws, "");
  }

  createWorkspaceKey(ws: string, req: CreateWorkspaceKeyRequest): Promise<WorkspaceKey & { key: string }> {
    return this.bare("POST", ws, "", req);
  }

  async revokeWorkspaceKey(ws: string, keyId: string): Promise<void> {
    await this.bare("DELETE", ws, `/${encodeURIComponent(keyId)}`);
  }

  rotateWorkspaceKey(ws: string, keyId: string, gracePeriodSeconds: number): Promise<WorkspaceKey & { key: string }> {
    return this.bare("POST", ws, `/${encodeURIComponent(keyId)}/rotate`, { grace_period_seconds: gracePeriodSeconds });
  }

  // ---- transport

  private async v1<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const json = await readJSON(res);
    if (!res.ok || (json as { success?: boolean })?.success !== true) throw toError(res, json);
    return (json as { data: T }).data;
  }

  private async bare<T>(method: Method, ws: string, rest: string, body?: unknown): Promise<T> {
    const res = await this.send(method, `/api/v1/workspaces/${encodeURIComponent(ws)}/api-keys${rest}`, body, { "X-Workspace-ID": ws });
    const json = await readJSON(res);
    if (!res.ok) throw toError(res, json);
    return json as T;
  }

  private async send(method: Method, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${await this.token()}`, ...extra };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      return await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "NetworkError", `Could not reach the keygate API at ${this.base}. Check your connection and try again.`);
    }
  }
}

async function readJSON(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}

function toError(res: Response, json: unknown): ApiError {
  const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (e?.message) return new ApiError(res.status, e.code ?? "Error", e.message);
  return new ApiError(res.status, "Error", `The API answered HTTP ${res.status} without an explanation.`);
}
