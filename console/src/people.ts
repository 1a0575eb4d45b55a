// People as the console names them: "you", a teammate's email, or, when the
// API knows only an id, that it was another member (the id in a tooltip).

/** The signed-in user, to say "you" for what they did. */
export interface Viewer {
  sub: string;
  email: string;
}

/** A user's name for a sentence, and their id when the name hides it. */
export interface Person {
  text: string;
  title?: string;
  you: boolean;
}

/**
 * Who the user id (and the email their token carried, when known) is.
 * Users of a second trusted issuer are "<issuer tag>|<sub>".
 */
export function person(id: string, email: string | null | undefined, me: Viewer): Person {
  const sub = id.slice(id.lastIndexOf("|") + 1);
  if (sub === me.sub || (!!email && email.toLowerCase() === me.email.toLowerCase())) return { text: "you", you: true };
  if (email) return { text: email, title: id, you: false };
  return { text: `another member (${sub.slice(0, 8)}…)`, title: `User id ${id}; their sign-in carried no email.`, you: false };
}
