// Sign-in, behind one small interface: the console never sees the Cognito
// library. A deployed pool and local mode (cognito-local) differ only in
// RuntimeConfig (endpoint, auth flow, which token the API gets).
import {
  AuthenticationDetails,
  CognitoUser,
  CognitoUserPool,
  type CognitoUserSession,
} from "amazon-cognito-identity-js";
import type { RuntimeConfig } from "./config";

export type Tier = "free" | "pro" | "team" | "enterprise";

export interface User {
  sub: string;
  email: string;
  tier: Tier;
  /** The user's team workspace, when they belong to one. */
  teamId?: string;
}

export interface Session {
  user: User;
  /** A current token for the API (refreshed when it has expired). */
  token(): Promise<string>;
}

export interface Auth {
  /** The session kept from an earlier sign-in in this browser, if any. */
  restore(): Promise<Session | null>;
  signIn(email: string, password: string): Promise<Session>;
  signOut(): void;
}

export class SignInError extends Error {}

const tiers: Tier[] = ["free", "pro", "team", "enterprise"];

/** The user as the ID token describes them (for the UI only; the API checks). */
export function userFromClaims(c: Record<string, unknown>): User {
  const t = String(c["custom:tier"] ?? "free").toLowerCase() as Tier;
  const teamId = typeof c["custom:teamId"] === "string" && c["custom:teamId"] !== "" ? (c["custom:teamId"] as string) : undefined;
  return {
    sub: String(c.sub ?? ""),
    email: String(c.email ?? c["cognito:username"] ?? ""),
    tier: tiers.includes(t) ? t : "free",
    teamId,
  };
}

export function cognitoAuth(cfg: RuntimeConfig): Auth {
  const pool = new CognitoUserPool({
    UserPoolId: cfg.userPoolId,
    ClientId: cfg.clientId,
    endpoint: cfg.cognitoEndpoint,
  });
  const pick = (s: CognitoUserSession) =>
    cfg.apiToken === "id" ? s.getIdToken().getJwtToken() : s.getAccessToken().getJwtToken();

  const getSession = (u: CognitoUser) =>
    new Promise<CognitoUserSession>((resolve, reject) =>
      u.getSession((err: Error | null, s: CognitoUserSession | null) => (err || !s ? reject(err ?? new Error("no session")) : resolve(s))),
    );

  const session = (u: CognitoUser, s: CognitoUserSession): Session => ({
    user: userFromClaims(s.getIdToken().decodePayload()),
    token: async () => pick(await getSession(u)),
  });

  return {
    async restore() {
      const u = pool.getCurrentUser();
      if (!u) return null;
      try {
        return session(u, await getSession(u));
      } catch {
        return null;
      }
    },
    signIn(email, password) {
      const u = new CognitoUser({ Username: email, Pool: pool });
      u.setAuthenticationFlowType(cfg.authFlow ?? "USER_SRP_AUTH");
      return new Promise<Session>((resolve, reject) => {
        const unsupported = (what: string) => () =>
          reject(new SignInError(`This account needs ${what}, which this console does not offer yet.`));
        u.authenticateUser(new AuthenticationDetails({ Username: email, Password: password }), {
          onSuccess: (s) => resolve(session(u, s)),
          onFailure: (err: { message?: string }) => reject(new SignInError(err?.message || "Sign-in failed.")),
          newPasswordRequired: () =>
            reject(new SignInError("This account must set a new password first; ask an administrator to set a permanent one.")),
          mfaRequired: unsupported("an SMS code"),
          totpRequired: unsupported("an authenticator code"),
          mfaSetup: unsupported("multi-factor setup"),
          selectMFAType: unsupported("multi-factor sign-in"),
          customChallenge: unsupported("a custom challenge"),
        });
      });
    },
    signOut() {
      pool.getCurrentUser()?.signOut();
    },
  };
}
