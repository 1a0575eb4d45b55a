// The console's runtime configuration, /config.json, written by whoever hosts
// the console: the CDK stack for a deployed console, `make dev` locally. The
// same build runs against both; only this file differs.

export interface RuntimeConfig {
  /** Base URL of the keygate API, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/prod/ */
  apiUrl: string;
  region: string;
  userPoolId: string;
  clientId: string;
  /** A Cognito-protocol endpoint other than AWS's (local mode: cognito-local). */
  cognitoEndpoint?: string;
  /**
   * How the password is proven. SRP (the default) never sends it; cognito-local
   * supports only USER_PASSWORD_AUTH, so local mode sets that.
   */
  authFlow?: "USER_SRP_AUTH" | "USER_PASSWORD_AUTH";
  /**
   * Which token the API receives. Access tokens (the default) carry the tier
   * through keygate's pre-token-generation trigger; cognito-local never puts
   * custom claims into access tokens, so local mode sends the ID token.
   */
  apiToken?: "access" | "id";
  /** A new key's daily limit when none is given: the deployment's defaultDailyLimit. */
  defaultDailyLimit?: number;
  /** How many days ahead a key's expiry may be: the deployment's maxKeyLifetimeDays. */
  maxKeyLifetimeDays?: number;
  /** The highest daily limit each paid tier may set: the deployment's tier caps. */
  tierCaps?: Partial<Record<"pro" | "team" | "enterprise", number>>;
}

/** The deployment's key limits that the forms show. */
export interface KeyLimits {
  defaultDailyLimit: number;
  maxKeyLifetimeDays: number;
  /** The highest daily limit per paid tier (a free user may set none). */
  tierCaps: Record<"pro" | "team" | "enterprise", number>;
}

/** The API's own defaults, for a config.json that does not carry the limits. */
const defaultKeyLimits: KeyLimits = {
  defaultDailyLimit: 250,
  maxKeyLifetimeDays: 366,
  tierCaps: { pro: 10_000, team: 50_000, enterprise: 1_000_000 },
};

/** The limits config.json names, each falling back to the API's default when absent. */
export function keyLimits(cfg: RuntimeConfig): KeyLimits {
  const pick = (v: unknown, fallback: number) => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fallback);
  const caps = defaultKeyLimits.tierCaps;
  return {
    defaultDailyLimit: pick(cfg.defaultDailyLimit, defaultKeyLimits.defaultDailyLimit),
    maxKeyLifetimeDays: pick(cfg.maxKeyLifetimeDays, defaultKeyLimits.maxKeyLifetimeDays),
    tierCaps: {
      pro: pick(cfg.tierCaps?.pro, caps.pro),
      team: pick(cfg.tierCaps?.team, caps.team),
      enterprise: pick(cfg.tierCaps?.enterprise, caps.enterprise),
    },
  };
}

export async function loadConfig(url = "/config.json"): Promise<RuntimeConfig> {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(`Could not load ${url} (HTTP ${res.status}).`);
  const c = (await res.json()) as Partial<RuntimeConfig>;
  for (const k of ["apiUrl", "region", "userPoolId", "clientId"] as const) {
    if (typeof c[k] !== "string" || c[k] === "") throw new Error(`${url} has no "${k}".`);
  }
  return c as RuntimeConfig;
}
