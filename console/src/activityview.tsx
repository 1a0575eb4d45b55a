// The Activity view: the audit log of the user's keys or their workspace's,
// newest first, each record a sentence with when, from where and with what.
// Older records come a page at a time.
import { useEffect, useRef, useState } from "preact/hooks";
import { actorName, clientName, sentence, type Activity, type ActivitySource } from "./activity";
import { fmtDateTime } from "./format";
import type { Viewer } from "./people";
import { ErrorBanner } from "./ui";

/** Records per page. */
export const PAGE_SIZE = 20;

const actionClass = (a: string) => a.replace(/^[a-z]+\./, "").replace(/_/g, "-");

const sameDay = (a: Date, b: Date) => a.toDateString() === b.toDateString();
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

/** "10:02" today, the date and time on another day (the reader's time zone). */
function when(iso: string, now: Date): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : sameDay(d, now) ? clock.format(d) : fmtDateTime(iso);
}

export function ActivityView(props: { source: ActivitySource; title: string; intro: string; me: Viewer }) {
  const { source } = props;
  const [events, setEvents] = useState<Activity[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [people, setPeople] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  // The first record of the page just added: the focus goes there, so a
  // keyboard or screen reader user carries on reading where the list grew.
  const focusId = useRef<string | null>(null);

  const load = async (cursor?: string) => {
    setLoading(true);
    try {
      const [page, who] = await Promise.all([source.page(PAGE_SIZE, cursor), cursor ? Promise.resolve(people) : source.people().catch(() => people)]);
      setPeople(who);
      setEvents((had) => (cursor && had ? [...had, ...page.events] : page.events));
      setNext(page.next);
      focusId.current = cursor ? (page.events[0]?.id ?? null) : null;
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setEvents(null);
    setNext(null);
    void load();
  }, [source]);
  useEffect(() => {
    if (!focusId.current) return;
    document.getElementById(`event-${focusId.current}`)?.focus();
    focusId.current = null;
  }, [events]);

  const now = new Date();
  return (
    <section class="activity" aria-labelledby="activity-title" aria-busy={loading}>
      <div class="section-head">
        <div>
          <h1 id="activity-title" tabIndex={-1}>
            {props.title}
          </h1>
          <p class="muted">{props.intro}</p>
        </div>
        <div class="head-actions">
          <button type="button" class="secondary" onClick={() => void load()} disabled={loading}>
            Refresh
          </button>
        </div>
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {events === null ? (
        loading && <p class="muted">Loading activity…</p>
      ) : events.length === 0 ? (
        <div class="empty">
          <p>No activity yet.</p>
          <p class="muted">Creating, changing, rotating or revoking a key is recorded here, with who did it and from where.</p>
        </div>
      ) : (
        <>
          <ol class="events" aria-label={props.title}>
            {events.map((ev) => (
              <EventItem key={ev.id} ev={ev} me={props.me} people={people} now={now} />
            ))}
          </ol>
          <p class="muted count" role="status">
            {events.length} {events.length === 1 ? "event" : "events"}
            {next ? ", newest first" : ": everything recorded (records are kept for a year)"}
          </p>
          {next && (
            <button type="button" class="secondary" onClick={() => void load(next)} disabled={loading} data-testid="older">
              {loading ? "Loading…" : "Show older activity"}
            </button>
          )}
        </>
      )}
    </section>
  );
}

function EventItem(props: { ev: Activity; me: Viewer; people: Map<string, string>; now: Date }) {
  const { ev } = props;
  const actor = actorName(ev.actor, props.me, props.people);
  const client = clientName(ev.userAgent);
  return (
    <li class={`event ${actionClass(ev.action)}`} id={`event-${ev.id}`} tabIndex={-1} data-action={ev.action} data-prefix={ev.key?.prefix}>
      <p class="what" data-testid="event-text" title={actor.title}>
        {sentence(ev, props.me, props.people)}
      </p>
      <p class="meta muted small">
        <time dateTime={ev.time} title={fmtDateTime(ev.time)}>
          {when(ev.time, props.now)}
        </time>
        {ev.sourceIp && <> · from {ev.sourceIp}</>}
        {client && (
          <>
            {" "}
            · <span title={ev.userAgent ?? undefined}>with {client}</span>
          </>
        )}
        {ev.key && (
          <>
            {" "}
            · <code>{ev.key.prefix}</code>
          </>
        )}
      </p>
    </li>
  );
}
