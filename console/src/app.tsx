// The console: sign-in, then the user's keys and, for members of a team
// workspace on a team tier, the workspace's keys.
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Api, ApiError } from "./api";
import type { Auth, Session, User } from "./auth";
import type { KeyLimits } from "./config";
import { tierName } from "./format";
import { KeysView } from "./keys";
import { personalKeys, workspaceKeys } from "./keysource";
import { personalActivity, workspaceActivity } from "./activity";
import { ActivityView } from "./activityview";
import { SignIn } from "./signin";

/** The console's views: each list of keys, and each one's activity (its audit log). */
type Tab = "mine" | "mine-activity" | "workspace" | "workspace-activity";

/** Team and Enterprise members of a workspace see its keys. */
export const hasWorkspace = (u: User) => !!u.teamId && (u.tier === "team" || u.tier === "enterprise");

export function App(props: { auth: Auth; apiUrl: string; local: boolean; limits: KeyLimits }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string>();
  const [tab, setTab] = useState<Tab>("mine");

  useEffect(() => {
    props.auth.restore().then(setSession, () => setSession(null));
  }, []);

  const signOut = (why?: string) => {
    props.auth.signOut();
    setNotice(why);
    setTab("mine");
    setSession(null);
  };

  // A session the API no longer accepts (revoked, or expired where the
  // browser could not tell) signs the user out with the reason, rather than
  // leaving every view to show its own 401.
  const api = useMemo(() => {
    if (!session) return null;
    const ended = "Your session has ended, so you were signed out. Sign in again to continue.";
    return new Api(
      props.apiUrl,
      async () => {
        try {
          return await session.token();
        } catch {
          signOut(ended);
          throw new ApiError(401, "Unauthorized", ended);
        }
      },
      // The API's 401 message is written for developers (it names the
      // Authorization header); the person reads what happened and what to do.
      { onUnauthorized: () => signOut("You were signed out: the API no longer accepts your session (it expired or was revoked). Sign in again to continue.") },
    );
  }, [session]);
  const mine = useMemo(() => (api ? personalKeys(api) : null), [api]);
  const team = useMemo(() => (api && session && hasWorkspace(session.user) ? workspaceKeys(api, session.user.teamId!) : null), [api, session]);
  const myLog = useMemo(() => (api ? personalActivity(api) : null), [api]);
  const teamLog = useMemo(() => (api && session && hasWorkspace(session.user) ? workspaceActivity(api, session.user.teamId!) : null), [api, session]);

  if (session === undefined) return <p class="boot">Loading…</p>;
  if (!session || !mine || !myLog) {
    return <SignIn auth={props.auth} local={props.local} notice={notice} onSignedIn={(s) => (setNotice(undefined), setSession(s))} />;
  }
  const u = session.user;
  const free = u.tier === "free";
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="/" aria-label="keygate console home">
          <span class="logo" aria-hidden="true">
            <svg viewBox="0 0 24 24">
              <circle cx="7.5" cy="12" r="4" />
              <path d="M11.5 12H21M17.5 12v3.5M20.5 12v2.5" />
            </svg>
          </span>
          keygate
        </a>
        <div class="who">
          <span class="email" data-testid="user-email">
            {u.email}
          </span>
          <span class={`badge tier tier-${u.tier}`} data-testid="tier">
            {tierName(u.tier)}
          </span>
          <button type="button" class="link" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <nav class="tabs" aria-label="Views">
        <TabButton tab="mine" current={tab} onPick={setTab}>
          My keys
        </TabButton>
        <TabButton tab="mine-activity" current={tab} onPick={setTab} testId="activity-tab">
          My activity
        </TabButton>
        {team && (
          <>
            <TabButton tab="workspace" current={tab} onPick={setTab} testId="workspace-tab">
              Workspace {u.teamId}
            </TabButton>
            <TabButton tab="workspace-activity" current={tab} onPick={setTab} testId="workspace-activity-tab">
              Workspace activity
            </TabButton>
          </>
        )}
      </nav>
      <main>
        {tab === "mine-activity" ? (
          <ActivityView
            source={myLog}
            me={u}
            title="Activity"
            intro="Every change to your keys and your plan, newest first: who made it, when and from where."
          />
        ) : tab === "workspace-activity" && teamLog ? (
          <ActivityView
            source={teamLog}
            me={u}
            title={`Workspace ${u.teamId} activity`}
            intro="Every change to your team's keys, by any member, GitHub secret scanning or an operator; newest first."
          />
        ) : tab === "workspace" && team ? (
          <KeysView
            source={team}
            me={u}
            limits={props.limits}
            title={`Workspace ${u.teamId}`}
            intro="Keys that belong to your team: they keep working when the person who made them leaves. They cannot be edited (the workspace API has no PATCH): rotate a key to change its scopes or networks."
          />
        ) : (
          <KeysView
            source={mine}
            me={u}
            limits={props.limits}
            title="API keys"
            intro="Keys for your scripts and CI pipelines. Each request with a key counts toward its daily limit."
            cannotCreate={
              free
                ? "You are on the Free plan, so you cannot create or rotate keys. You can still see, rename and revoke the keys you have. Upgrade to Pro to create keys."
                : undefined
            }
          />
        )}
      </main>
    </div>
  );
}

function TabButton(props: { tab: Tab; current: Tab; onPick: (t: Tab) => void; testId?: string; children: ComponentChildren }) {
  return (
    <button type="button" aria-pressed={props.current === props.tab} onClick={() => props.onPick(props.tab)} data-testid={props.testId}>
      {props.children}
    </button>
  );
}
