import { useContext, useMemo, useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { api, ApiError } from "../api";
import { Badge, CopyUrl, Notice, usePoll } from "../components";
import { InfoContext, webhookUrl } from "../context";
import { takeFlash } from "../flash";
import { platformLabel, type WebhookConfig } from "../model";

/** The list of webhooks, polled so badges turn Verified without a reload. */
export function Webhooks() {
  const info = useContext(InfoContext);
  const [hooks, setHooks] = useState<WebhookConfig[] | null>(null);
  const [error, setError] = useState("");
  const [name, setName] = useState("");
  const [platform, setPlatform] = useState("");
  const [tag, setTag] = useState("");
  const [flash] = useState(takeFlash);

  usePoll(
    async () => {
      try {
        setHooks(await api<WebhookConfig[]>("GET", "/api/metadata/webhook"));
        setError("");
      } catch (e) {
        setError(e instanceof ApiError ? e.message : "Loading failed.");
      }
    },
    2000,
    [],
  );

  const platforms = useMemo(
    () => [...new Set((hooks ?? []).map(platformLabel))].sort(),
    [hooks],
  );
  const shown = (hooks ?? []).filter((w) => {
    const n = name.trim().toLowerCase();
    const t = tag.trim().toLowerCase();
    return (
      (!n || w.name.toLowerCase().includes(n)) &&
      (!platform || platformLabel(w) === platform) &&
      (!t || w.tags.some((x) => `${x.key}:${x.value}`.toLowerCase().includes(t)))
    );
  });

  return (
    <main id="main">
      <div class="page-head">
        <h1>Webhooks</h1>
        <Link href="/webhooks/new" class="button">
          + New Webhook
        </Link>
      </div>
      {flash && <Notice kind="ok">{flash}</Notice>}
      {info.hint && (
        <Notice kind="info">
          <strong>URLs below are this instance's own address.</strong> {info.hint}
        </Notice>
      )}
      <form class="filters" role="search" aria-label="Filter webhooks" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-name">Name</label>
          <input id="filter-name" type="search" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="filter-platform">Source platform</label>
          <select id="filter-platform" value={platform} onChange={(e) => setPlatform(e.currentTarget.value)}>
            <option value="">All</option>
            {platforms.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-tag">Tag</label>
          <input
            id="filter-tag"
            type="search"
            placeholder="key:value"
            value={tag}
            onInput={(e) => setTag(e.currentTarget.value)}
          />
        </div>
      </form>
      {error && <Notice kind="error">{error}</Notice>}
      {hooks === null && !error && <p>Loading…</p>}
      {hooks !== null && hooks.length === 0 && (
        <p class="empty">
          No webhooks yet. <Link href="/webhooks/new">Create the first one</Link>.
        </p>
      )}
      {hooks !== null && hooks.length > 0 && (
        <table class="list" aria-label="Webhooks">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Source platform</th>
              <th scope="col">Status</th>
              <th scope="col">URL</th>
              <th scope="col">Created by</th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((w) => (
              <tr key={w.id} data-webhook={w.id}>
                <td data-label="Name">
                  <Link href={`/webhooks/${encodeURIComponent(w.id ?? "")}`}>{w.name}</Link>
                </td>
                <td data-label="Source platform">{platformLabel(w)}</td>
                <td data-label="Status">
                  <Badge verified={w.urlVerified} />
                </td>
                <td data-label="URL" class="url-cell">
                  <CopyUrl url={webhookUrl(info, w.id ?? "")} label={`URL of ${w.name}`} />
                </td>
                <td data-label="Created by">{w.createdBy ?? "—"}</td>
                <td data-label="Tags">
                  <Tags tags={w.tags} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {hooks !== null && hooks.length > 0 && shown.length === 0 && (
        <p class="empty">No webhook matches these filters.</p>
      )}
    </main>
  );
}

export function Tags({ tags }: { tags: { key: string; value: string }[] }) {
  if (!tags.length) return <span class="muted">—</span>;
  return (
    <ul class="tags" aria-label="Tags">
      {tags.map((t) => (
        <li key={`${t.key}=${t.value}`} class="tag">
          {t.value ? `${t.key}: ${t.value}` : t.key}
        </li>
      ))}
    </ul>
  );
}
