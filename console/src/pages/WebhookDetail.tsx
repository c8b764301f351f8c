// One webhook: its URL (copy), the Verified badge (polled), its settings, Edit and Delete, and
// its execution history with a search box and a payload view.
import { useContext, useRef, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { api, ApiError } from "../api";
import { Badge, CopyUrl, formatTime, Notice, usePoll } from "../components";
import { InfoContext, webhookUrl } from "../context";
import { payloadOf, platformLabel, type HistoryEntry, type WebhookConfig } from "../model";
import { setFlash, takeFlash } from "../flash";
import { Tags } from "./Webhooks";

export function WebhookDetail({ id }: { id: string }) {
  const info = useContext(InfoContext);
  const [, navigate] = useLocation();
  const [flash] = useState(takeFlash);
  const [hook, setHook] = useState<WebhookConfig | null>(null);
  const [error, setError] = useState("");
  const [deleteError, setDeleteError] = useState("");
  const confirm = useRef<HTMLDialogElement>(null);

  usePoll(
    async () => {
      try {
        setHook(await api<WebhookConfig>("GET", `/api/metadata/webhook/${encodeURIComponent(id)}`));
        setError("");
      } catch (e) {
        setError(
          e instanceof ApiError && e.status === 404
            ? "There is no webhook with this id (it may have been deleted)."
            : e instanceof ApiError
              ? e.message
              : "Loading failed.",
        );
      }
    },
    2000,
    [id],
  );

  const remove = async () => {
    try {
      await api("DELETE", `/api/metadata/webhook/${encodeURIComponent(id)}`);
      confirm.current?.close();
      setFlash(`Deleted webhook ${hook?.name ?? id}.`);
      navigate("/webhooks");
    } catch (e) {
      setDeleteError(e instanceof ApiError ? e.message : "Deleting failed.");
    }
  };

  if (!hook) {
    return (
      <main id="main">
        <h1>Webhook</h1>
        {error ? <Notice kind="error">{error}</Notice> : <p>Loading…</p>}
        <p>
          <Link href="/webhooks">Back to webhooks</Link>
        </p>
      </main>
    );
  }

  const starts = Object.entries(hook.workflowsToStart ?? {}).filter(
    ([k]) => k !== "idempotencyKey" && k !== "idempotencyStrategy",
  );
  const receivers = Object.entries(hook.receiverWorkflowNamesToVersions ?? {});
  const url = webhookUrl(info, id);

  return (
    <main id="main">
      <p class="crumbs">
        <Link href="/webhooks">Webhooks</Link> / <span>{hook.name}</span>
      </p>
      <div class="page-head">
        <h1>{hook.name}</h1>
        <span aria-live="polite" id="status">
          <Badge verified={hook.urlVerified} />
        </span>
      </div>
      {flash && <Notice kind="ok">{flash}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <section aria-labelledby="url-h">
        <h2 id="url-h">Webhook URL</h2>
        <CopyUrl url={url} label="Webhook URL" />
        {info.hint && <p class="help">{info.hint}</p>}
      </section>
      <section aria-labelledby="settings-h">
        <h2 id="settings-h">Settings</h2>
        <dl class="settings">
          <dt>Id</dt>
          <dd>
            <code>{hook.id}</code>
          </dd>
          <dt>Source platform</dt>
          <dd>{platformLabel(hook)}</dd>
          <dt>Verifier</dt>
          <dd>
            <code>{hook.verifier}</code>
            {hook.headerKey && (
              <>
                {" "}
                (header <code>{hook.headerKey}</code>)
              </>
            )}
          </dd>
          <dt>Workflow to receive webhook event</dt>
          <dd>
            {receivers.length
              ? receivers.map(([n, v]) => `${n} v${v}`).join(", ")
              : <span class="muted">none</span>}
          </dd>
          <dt>Workflows started</dt>
          <dd>
            {starts.length ? starts.map(([n, v]) => `${n} v${v}`).join(", ") : <span class="muted">none</span>}
            {typeof hook.workflowsToStart?.idempotencyKey === "string" && (
              <>
                {" "}
                · idempotency key <code>{hook.workflowsToStart.idempotencyKey}</code> (
                {String(hook.workflowsToStart.idempotencyStrategy ?? "FAIL")})
              </>
            )}
          </dd>
          <dt>Created by</dt>
          <dd>{hook.createdBy ?? "—"}</dd>
          <dt>Tags</dt>
          <dd>
            <Tags tags={hook.tags} />
          </dd>
        </dl>
        <div class="actions">
          <Link href={`/webhooks/${encodeURIComponent(id)}/edit`} class="button">
            Edit
          </Link>
          <button type="button" class="danger" onClick={() => confirm.current?.showModal()}>
            Delete
          </button>
        </div>
      </section>
      <History entries={hook.webhookExecutionHistory} />
      <dialog ref={confirm} aria-labelledby="delete-h" class="confirm">
        <h2 id="delete-h">Delete {hook.name}?</h2>
        <p>
          Providers calling its URL will get 404 from now on, and its history goes with it. This
          cannot be undone.
        </p>
        {deleteError && <Notice kind="error">{deleteError}</Notice>}
        <div class="actions">
          <button type="button" class="danger" id="confirm-delete" onClick={remove}>
            Delete webhook
          </button>
          <button type="button" class="secondary" onClick={() => confirm.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </main>
  );
}

function History({ entries }: { entries: HistoryEntry[] }) {
  const [q, setQ] = useState("");
  const [shown, setShown] = useState<HistoryEntry | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const needle = q.trim().toLowerCase();
  const rows = entries.filter(
    (e) =>
      !needle ||
      e.eventId.toLowerCase().includes(needle) ||
      e.workflowIds.some((w) => w.toLowerCase().includes(needle)) ||
      JSON.stringify(payloadOf(e) ?? "").toLowerCase().includes(needle),
  );
  const open = (e: HistoryEntry) => {
    setShown(e);
    dialog.current?.showModal();
  };
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">Execution history</h2>
      <div class="field search">
        <label for="history-search">Search events</label>
        <input
          id="history-search"
          type="search"
          placeholder="event id, workflow id or payload text"
          value={q}
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </div>
      {entries.length === 0 ? (
        <p class="empty">No events yet.</p>
      ) : rows.length === 0 ? (
        <p class="empty">No event matches “{q}”.</p>
      ) : (
        <table class="list history" aria-label="Execution history">
          <thead>
            <tr>
              <th scope="col">Event id</th>
              <th scope="col">Matched</th>
              <th scope="col">Workflows</th>
              <th scope="col">Received</th>
              <th scope="col">Payload</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.eventId} data-event={e.eventId}>
                <td data-label="Event id">
                  <code>{e.eventId}</code>
                  {e.dryRun && <span class="tag">dry run</span>}
                  {e.deadLetter && <span class="tag tag-bad">dead letter: {e.deadLetter}</span>}
                </td>
                <td data-label="Matched">{e.matched ? "Yes" : "No"}</td>
                <td data-label="Workflows">
                  {e.workflowIds.length ? (
                    <ul class="plain">
                      {e.workflowIds.map((w) => (
                        <li key={w}>
                          <code>{w}</code>
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
                <td data-label="Received">
                  <time dateTime={new Date(e.timeStamp).toISOString()}>{formatTime(e.timeStamp)}</time>
                </td>
                <td data-label="Payload">
                  <button type="button" class="secondary" onClick={() => open(e)}>
                    View<span class="visually-hidden"> payload of {e.eventId}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <dialog ref={dialog} aria-labelledby="payload-h" class="payload">
        <h2 id="payload-h">Payload of event {shown?.eventId}</h2>
        <pre tabIndex={0} aria-label="Payload (JSON)">
          {shown ? JSON.stringify(payloadOf(shown), null, 2) : ""}
        </pre>
        <div class="actions">
          <button type="button" onClick={() => dialog.current?.close()}>
            Close
          </button>
        </div>
      </dialog>
    </section>
  );
}
