// Loaded verifier plugins, the contract they implement, what the last load could not load, and
// a reload button.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { Notice } from "../components";

interface PluginsAnswer {
  dir?: string;
  loaded: string[];
  contract?: string;
  failed?: Record<string, string>;
}

export function Plugins() {
  const [state, setState] = useState<PluginsAnswer | null>(null);
  const [disabled, setDisabled] = useState(false);
  const [error, setError] = useState("");
  const [result, setResult] = useState("");
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setState(await api<PluginsAnswer>("GET", "/api/admin/plugins"));
      setError("");
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setDisabled(true);
      else setError(e instanceof ApiError ? e.message : "Loading failed.");
    }
  };
  useEffect(() => {
    load();
  }, []);

  const reload = async () => {
    setBusy(true);
    setResult("");
    try {
      const r = await api<PluginsAnswer>("POST", "/api/admin/plugins/reload");
      const failed = Object.keys(r.failed ?? {}).length;
      setResult(
        `Reloaded: ${r.loaded.length} loaded${failed ? `, ${failed} could not be loaded` : ""}.`,
      );
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "Reload failed.");
    } finally {
      setBusy(false);
    }
  };

  const failed = Object.entries(state?.failed ?? {});
  return (
    <main id="main">
      <div class="page-head">
        <h1>Plugins</h1>
        {state && (
          <button type="button" onClick={reload} disabled={busy}>
            {busy ? "Reloading…" : "Reload plugins"}
          </button>
        )}
      </div>
      {disabled && (
        <Notice kind="info">
          Plugins are off on this hookd: set <code>[plugins] dir</code> in its configuration.
        </Notice>
      )}
      {error && <Notice kind="error">{error}</Notice>}
      {result && <Notice kind="ok">{result}</Notice>}
      {state && (
        <>
          <p>
            Directory <code>{state.dir}</code>
            {state.contract && (
              <>
                {" "}
                · this hookd implements <code>hookd:verifier@{state.contract}</code>
              </>
            )}
          </p>
          <section aria-labelledby="loaded-h">
            <h2 id="loaded-h">Loaded</h2>
            {state.loaded.length === 0 ? (
              <p class="empty">No plugin is loaded.</p>
            ) : (
              <table class="list" aria-label="Loaded plugins">
                <thead>
                  <tr>
                    <th scope="col">Plugin</th>
                    <th scope="col">Contract version</th>
                  </tr>
                </thead>
                <tbody>
                  {state.loaded.map((n) => (
                    <tr key={n} data-plugin={n}>
                      <td data-label="Plugin">
                        <code>{n}</code>
                      </td>
                      <td data-label="Contract version">
                        {state.contract ? `hookd:verifier@${state.contract}` : "—"}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="failed-h">
            <h2 id="failed-h">Failures of the last load</h2>
            {failed.length === 0 ? (
              <p class="empty">None: every file in the directory loaded.</p>
            ) : (
              <ul class="failures">
                {failed.map(([n, err]) => (
                  <li key={n} data-failed={n}>
                    <code>{n}</code>: {err}
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </main>
  );
}
