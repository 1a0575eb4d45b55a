// The sign-in screen.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Auth, Session } from "./auth";
import { ErrorBanner, useAction } from "./ui";

export function SignIn(props: { auth: Auth; local: boolean; notice?: string; onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const a = useAction();
  // The focus starts in the email field, also after signing out (autofocus
  // acts only once per page load, so it would stay on <body>).
  const emailField = useRef<HTMLInputElement>(null);
  useEffect(() => emailField.current?.focus(), []);
  return (
    <main class="signin">
      <form
        class="card"
        aria-labelledby="signin-title"
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(async () => props.onSignedIn(await props.auth.signIn(email.trim(), password)));
        }}
      >
        <h1 id="signin-title">Sign in to keygate</h1>
        <p class="muted">Manage the API keys of your account and see how much they are used.</p>
        {props.notice && (
          <p class="banner info" role="alert" data-testid="signed-out">
            {props.notice}
          </p>
        )}
        <label>
          Email
          <input ref={emailField} name="email" type="email" autoComplete="username" required autoFocus value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <ErrorBanner error={a.error} />
        <button type="submit" class="primary wide" disabled={a.busy}>
          {a.busy ? "Signing in…" : "Sign in"}
        </button>
        {props.local && <p class="muted small">
            Local mode: <code>make dev</code> printed the demo users and their passwords.
          </p>}
      </form>
    </main>
  );
}
