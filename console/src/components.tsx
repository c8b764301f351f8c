// Small shared pieces: the Verified badge, the URL with its copy button, field errors, polling.
import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";

export function Badge({ verified }: { verified: boolean }) {
  return (
    <span class={verified ? "badge badge-ok" : "badge badge-wait"} data-verified={String(verified)}>
      {verified ? "Verified" : "Unverified"}
    </span>
  );
}

/** The webhook's URL in a read-only field, with a copy button. */
export function CopyUrl({ url, label }: { url: string; label: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [status, setStatus] = useState("");
  const id = `url${useId()}`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setStatus("Copied");
    } catch {
      // No clipboard access (plain http on another host): select it for Ctrl+C.
      input.current?.select();
      setStatus("Selected: press Ctrl+C to copy");
    }
  };
  return (
    <div class="copy-url">
      <label class="visually-hidden" for={id}>
        {label}
      </label>
      <input id={id} ref={input} class="url" type="text" readOnly value={url} data-url />
      <button type="button" class="secondary" onClick={copy} aria-describedby={`${id}-status`}>
        Copy<span class="visually-hidden"> {label}</span>
      </button>
      <span id={`${id}-status`} class="copy-status" role="status">
        {status}
      </span>
    </div>
  );
}

/** An error shown under the field it names (`id` is what the field's aria-describedby lists). */
export function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p class="field-error" id={id}>
      {message}
    </p>
  );
}

/** A live message region (errors and confirmations). */
export function Notice({
  kind,
  children,
}: {
  kind: "error" | "info" | "ok";
  children: ComponentChildren;
}) {
  return (
    <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

/** Runs `load` now and every `ms` while the tab is visible; re-runs when `deps` change. */
export function usePoll(load: () => Promise<void>, ms: number, deps: unknown[]) {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try {
          await latest.current();
        } catch {
          /* shown by the page's own state */
        }
      }
      if (!stopped) timer = window.setTimeout(tick, ms);
    };
    tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, deps);
}

/** `new Date(ms)` as the browser's local date and time. */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "medium",
  });
}
