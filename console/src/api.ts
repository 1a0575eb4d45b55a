// The one module that talks to the keygate API. Every request and answer is
// typed from docs/openapi.yaml (src/generated/openapi.ts, written by
// openapi-typescript in `make console`): the path, its method, its query, its
// body and its success answer all come from the document, so a route or field
// the document renames is a compile error here or in the views. Every failure
// is an ApiError carrying the envelope's code and message. Views call these
// methods, never fetch.
import type { components, paths } from "./generated/openapi";

type Schemas = components["schemas"];

export type KeyStatus = Schemas["KeyStatus"];
export type RevokedReason = Schemas["RevokedReason"];
/** A key as GET /v1/api-keys lists it. */
export type ApiKey = Schemas["Key"];
/** A key just created: the only time the full key is shown. */
export type CreatedKey = Schemas["CreatedKey"];
/** A rotation's successor, shown once like a created key. */
export type RotatedKey = Schemas["RotatedKey"];
export type CreateKeyRequest = Schemas["CreateKeyRequest"];
export type UpdateKeyRequest = Schemas["UpdateKeyRequest"];
export type RotateKeyRequest = Schemas["RotateKeyRequest"];
/** A scope a key may be limited to, with the routes that need it. */
export type Scope = Schemas["Scope"];
export type DayUsage = Schemas["DayUsage"];
export type KeyUsage = Schemas["KeyUsage"];
export type Usage = Schemas["Usage"];
/** A workspace key as the workspace API shows it (snake_case, bare JSON). */
export type WorkspaceKey = Schemas["WorkspaceKey"];
export type CreatedWorkspaceKey = Schemas["CreatedWorkspaceKey"];
export type RotatedWorkspaceKey = Schemas["RotatedWorkspaceKey"];
export type CreateWorkspaceKeyRequest = Schemas["CreateWorkspaceKeyRequest"];
export type RotateWorkspaceKeyRequest = Schemas["RotateWorkspaceKeyRequest"];
/** One record of the audit log: who changed which key, when and from where. */
export type AuditEvent = Schemas["AuditEvent"];
export type WorkspaceAuditEvent = Schemas["WorkspaceAuditEvent"];
export type AuditAction = Schemas["AuditAction"];
export type AuditActor = Schemas["AuditActor"];
export type AuditChange = Schemas["AuditChange"];
export type AuditValue = Schemas["AuditValue"];
export type AuditReason = Schemas["AuditReason"];

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

// ---- types read from the document's operations

type Method = "get" | "post" | "patch" | "delete";
/** The operation at path and method; never when the document has none. */
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : never;
/** The JSON body of the operation's 200 or 201 answer. */
type Success<O> = O extends { responses: infer R } ? JsonOf<R[Extract<keyof R, 200 | 201>]> : never;
type RequestBody<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type Params<O, Where extends "path" | "query"> = O extends { parameters: { [W in Where]?: infer X } } ? NonNullable<X> : never;

interface Call<O> {
  path?: Params<O, "path">;
  query?: Params<O, "query">;
  body?: RequestBody<O>;
  headers?: Record<string, string>;
}

/** A call as the transport sends it, its types already checked. */
interface RawCall {
  path?: object;
  query?: object;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The data of a /v1 envelope. */
type Data<O> = Success<O> extends { data: infer D } ? D : never;

export interface ApiOptions {
  /**
   * Called when the API refuses the session's token (401): the session was
   * revoked or has expired where the console could not tell. The console
   * signs out with the message.
   */
  onUnauthorized?: (err: ApiError) => void;
}

export class Api {
  private readonly base: string;

  constructor(
    apiUrl: string,
    private readonly token: () => Promise<string>,
    private readonly options: ApiOptions = {},
  ) {
    this.base = apiUrl.replace(/\/+$/, "");
  }

  // ---- /v1: the caller's own keys (envelope, camelCase)

  /** Every key of the caller, whatever its status, newest first. */
  async listKeys(): Promise<ApiKey[]> {
    return (await this.v1("get", "/v1/api-keys", { query: { status: "all" } })).keys;
  }

  createKey(body: CreateKeyRequest): Promise<CreatedKey> {
    return this.v1("post", "/v1/api-keys", { body });
  }

  updateKey(prefix: string, body: UpdateKeyRequest): Promise<ApiKey> {
    return this.v1("patch", "/v1/api-keys/{prefix}", { path: { prefix }, body });
  }

  rotateKey(prefix: string, body: RotateKeyRequest): Promise<RotatedKey> {
    return this.v1("post", "/v1/api-keys/{prefix}/rotate", { path: { prefix }, body });
  }

  async revokeKey(prefix: string): Promise<void> {
    await this.v1("delete", "/v1/api-keys/{prefix}", { path: { prefix } });
  }

  /** The deployment's scopes, from its route table (not metered). */
  async listScopes(): Promise<Scope[]> {
    return (await this.v1("get", "/v1/scopes", {})).scopes;
  }

  /** Today's usage of the active keys, with `days` of history (oldest first). */
  usage(days: number, workspace?: string): Promise<Usage> {
    return this.v1("get", "/v1/usage", { query: workspace ? { days, workspace } : { days } });
  }

  /** A page of the audit log of the caller's personal keys, newest first. */
  auditLog(limit: number, cursor?: string): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
    return this.v1("get", "/v1/audit-log", { query: { limit, cursor } });
  }

  // ---- /api/v1/workspaces: a team's keys (bare JSON, snake_case)

  listWorkspaceKeys(id: string): Promise<WorkspaceKey[]> {
    return this.bare("get", "/api/v1/workspaces/{id}/api-keys", id, { path: { id } });
  }

  createWorkspaceKey(id: string, body: CreateWorkspaceKeyRequest): Promise<CreatedWorkspaceKey> {
    return this.bare("post", "/api/v1/workspaces/{id}/api-keys", id, { path: { id }, body });
  }

  async revokeWorkspaceKey(id: string, keyId: string): Promise<void> {
    await this.bare("delete", "/api/v1/workspaces/{id}/api-keys/{keyId}", id, { path: { id, keyId } });
  }

  rotateWorkspaceKey(id: string, keyId: string, body: RotateWorkspaceKeyRequest): Promise<RotatedWorkspaceKey> {
    return this.bare("post", "/api/v1/workspaces/{id}/api-keys/{keyId}/rotate", id, { path: { id, keyId }, body });
  }

  /** A page of the workspace's audit log, newest first. */
  workspaceAuditLog(id: string, limit: number, cursor?: string): Promise<{ events: WorkspaceAuditEvent[]; next_cursor: string | null }> {
    return this.bare("get", "/api/v1/workspaces/{id}/audit-log", id, { path: { id }, query: { limit, cursor } });
  }

  // ---- transport

  private async v1<P extends keyof paths, M extends Method>(method: M, path: P, call: Call<Op<P, M>>): Promise<Data<Op<P, M>>> {
    const { res, json } = await this.send(method, path, call as RawCall);
    if (!res.ok || (json as { success?: boolean } | undefined)?.success !== true) throw this.fail(res, json);
    return (json as { data: Data<Op<P, M>> }).data;
  }

  private async bare<P extends keyof paths, M extends Method>(method: M, path: P, workspace: string, call: Call<Op<P, M>>): Promise<Success<Op<P, M>>> {
    const { res, json } = await this.send(method, path, { ...(call as RawCall), headers: { "X-Workspace-ID": workspace } });
    if (!res.ok) throw this.fail(res, json);
    return json as Success<Op<P, M>>;
  }

  private async send(method: Method, template: string, call: RawCall): Promise<{ res: Response; json: unknown }> {
    const params = (call.path ?? {}) as Record<string, string>;
    let url = this.base + template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]));
    const query = Object.entries((call.query ?? {}) as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (query.length) url += "?" + new URLSearchParams(query.map(([k, v]) => [k, String(v)]));

    const headers: Record<string, string> = { Authorization: `Bearer ${await this.token()}`, ...call.headers };
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method: method.toUpperCase(),
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "NetworkError", `Could not reach the keygate API at ${this.base}. Check your connection and try again.`);
    }
    return { res, json: await readJSON(res) };
  }

  private fail(res: Response, json: unknown): ApiError {
    const err = toError(res, json);
    if (res.status === 401) this.options.onUnauthorized?.(err);
    return err;
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
