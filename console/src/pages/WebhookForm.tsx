// + New Webhook and Edit: the seed's fields and labels. The server validates; its errors are
// shown next to the field they name. Secrets are never shown: on edit an empty secret field
// keeps the stored one.
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { api, ApiError } from "../api";
import { FieldError, Notice } from "../components";
import { InfoContext } from "../context";
import { setFlash } from "../flash";
import {
  BUILTIN_PLATFORMS,
  defaultHeaderKey,
  emptyForm,
  fieldErrors,
  formOf,
  pluginPlatform,
  STRATEGIES,
  toConfig,
  type FormField,
  type FormState,
  type KeyValue,
  type NameVersion,
  type Platform,
  type WebhookConfig,
} from "../model";

type Errors = Partial<Record<FormField | "", string>>;

export function WebhookForm({ id }: { id?: string }) {
  const info = useContext(InfoContext);
  const [, navigate] = useLocation();
  const [stored, setStored] = useState<WebhookConfig | undefined>(undefined);
  const [form, setForm] = useState<FormState>(emptyForm());
  const [platforms, setPlatforms] = useState<Platform[]>(BUILTIN_PLATFORMS);
  const [errors, setErrors] = useState<Errors>({});
  const [loadError, setLoadError] = useState("");
  const [busy, setBusy] = useState(false);
  const summary = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (info.pluginsEnabled) {
      api<{ loaded: string[] }>("GET", "/api/admin/plugins")
        .then((r) => setPlatforms([...BUILTIN_PLATFORMS, ...r.loaded.map(pluginPlatform)]))
        .catch(() => {});
    }
    if (id) {
      api<WebhookConfig>("GET", `/api/metadata/webhook/${encodeURIComponent(id)}`)
        .then((w) => {
          setStored(w);
          setForm(formOf(w));
          if (w.verifier === "WASM_PLUGIN" && w.plugin) {
            setPlatforms((ps) =>
              ps.some((p) => p.plugin === w.plugin) ? ps : [...ps, pluginPlatform(w.plugin!)],
            );
          }
        })
        .catch((e) => setLoadError(e instanceof ApiError ? e.message : "Loading failed."));
    }
  }, [id]);

  const set = <K extends keyof FormState>(k: K, v: FormState[K]) =>
    setForm((f) => ({ ...f, [k]: v }));
  const platform = platforms.find((p) => p.id === form.platform) ?? BUILTIN_PLATFORMS[0];
  const editing = id !== undefined;
  const keepsSecrets = editing && stored !== undefined && form.platform === formOf(stored).platform;

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const body = toConfig(form, platforms, stored);
      const saved = editing
        ? await api<WebhookConfig>("PUT", `/api/metadata/webhook/${encodeURIComponent(id!)}`, body)
        : await api<WebhookConfig>("POST", "/api/metadata/webhook", body);
      setFlash(
        editing
          ? "Saved."
          : "Saved. Give this URL to the provider: it turns Verified with the first request that passes verification.",
      );
      navigate(`/webhooks/${encodeURIComponent(saved.id ?? id ?? "")}`);
    } catch (err) {
      const errs: Errors =
        err instanceof ApiError ? fieldErrors(err.message, err.problems) : { "": "Saving failed." };
      setErrors(errs);
      setBusy(false);
      // Focus the first field named, else the summary.
      requestAnimationFrame(() => {
        const first = document.querySelector<HTMLElement>(
          "[aria-invalid='true'], [data-invalid='true']",
        );
        (first ?? summary.current)?.focus();
      });
    }
  };

  if (loadError) {
    return (
      <main id="main">
        <h1>Edit webhook</h1>
        <Notice kind="error">{loadError}</Notice>
      </main>
    );
  }
  if (editing && !stored) {
    return (
      <main id="main">
        <h1>Edit webhook</h1>
        <p>Loading…</p>
      </main>
    );
  }

  const described = (f: FormField) => (errors[f] ? `${f}-error` : undefined);
  const invalid = (f: FormField) => (errors[f] ? "true" : undefined);
  const secretHint = keepsSecrets ? "Stored, not shown. Leave empty to keep it." : undefined;
  const errorCount = Object.keys(errors).length;

  return (
    <main id="main">
      <h1>{editing ? `Edit webhook ${stored?.name}` : "New Webhook"}</h1>
      <div ref={summary} tabIndex={-1}>
        {errorCount > 0 && (
          <Notice kind="error">
            {errors[""] ?? "The webhook was not saved: see the field marked below."}
          </Notice>
        )}
      </div>
      <form onSubmit={submit} noValidate class="webhook-form">
        <div class="field">
          <label for="name">Webhook name</label>
          <input
            id="name"
            type="text"
            value={form.name}
            aria-invalid={invalid("name")}
            aria-describedby={described("name")}
            onInput={(e) => set("name", e.currentTarget.value)}
          />
          <FieldError id="name-error" message={errors.name} />
        </div>

        <NameVersions
          legend="Workflow to receive webhook event"
          idBase="receiver"
          rows={form.receivers}
          onChange={(v) => set("receivers", v)}
          error={errors.receiverWorkflowNamesToVersions}
          errorId="receiverWorkflowNamesToVersions-error"
          addLabel="Add workflow"
        />

        <div class="field">
          <label for="sourcePlatform">Source platform</label>
          <select
            id="sourcePlatform"
            value={form.platform}
            aria-invalid={invalid("sourcePlatform")}
            aria-describedby={described("sourcePlatform")}
            onChange={(e) => {
              const p = platforms.find((x) => x.id === e.currentTarget.value)!;
              setForm((f) => ({ ...f, platform: p.id, headerKey: defaultHeaderKey(p.verifier) }));
            }}
          >
            {platforms.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
          <FieldError id="sourcePlatform-error" message={errors.sourcePlatform} />
        </div>

        <fieldset class="group">
          <legend>Verification ({platform.label})</legend>
          {(platform.verifier === "SIGNATURE_BASED" || platform.verifier === "HMAC_BASED") && (
            <div class="field">
              <label for="headerKey">Header name</label>
              <input
                id="headerKey"
                type="text"
                value={form.headerKey}
                aria-invalid={invalid("headerKey")}
                aria-describedby={described("headerKey")}
                onInput={(e) => set("headerKey", e.currentTarget.value)}
              />
              <FieldError id="headerKey-error" message={errors.headerKey} />
            </div>
          )}
          {["SIGNATURE_BASED", "HMAC_BASED", "SLACK_BASED", "STRIPE", "WASM_PLUGIN"].includes(
            platform.verifier,
          ) && (
            <SecretField
              id="secretValue"
              label={secretLabel(platform.verifier)}
              value={form.secretValue}
              hint={secretHint}
              error={errors.secretValue}
              onInput={(v) => set("secretValue", v)}
            />
          )}
          {platform.verifier === "SENDGRID" && (
            <SecretField
              id="secretKey"
              label="Verification key"
              value={form.secretKey}
              hint={secretHint ?? "The public key SendGrid shows (base64)."}
              error={errors.secretKey}
              onInput={(v) => set("secretKey", v)}
            />
          )}
          {platform.verifier === "HEADER_BASED" && (
            <KeyValues
              legend="Headers every request must carry"
              idBase="header"
              keyLabel="Header name"
              valueLabel="Header value"
              secretValues
              valueHint={keepsSecrets ? "Leave a stored header's value empty to keep it." : undefined}
              rows={form.headers}
              onChange={(v) => set("headers", v)}
              error={errors.headers}
              errorId="headers-error"
              addLabel="Add header"
            />
          )}
          {platform.verifier === "WASM_PLUGIN" && (
            <>
              <KeyValues
                legend="Plugin parameters"
                idBase="param"
                keyLabel="Parameter"
                valueLabel="Value"
                rows={form.pluginParams}
                onChange={(v) => set("pluginParams", v)}
                error={errors.pluginParams}
                errorId="pluginParams-error"
                addLabel="Add parameter"
              />
              <PluginSecrets
                kept={keepsSecrets ? form.keptPluginSecrets : 0}
                fresh={form.newPluginSecrets}
                onKept={(n) => set("keptPluginSecrets", n)}
                onFresh={(v) => set("newPluginSecrets", v)}
                error={errors.pluginSecrets}
              />
            </>
          )}
        </fieldset>

        <fieldset class="group">
          <legend>Start workflow when webhook events come</legend>
          <label class="choice switch">
            <input
              type="checkbox"
              role="switch"
              id="startEnabled"
              checked={form.startEnabled}
              aria-controls="start-fields"
              onChange={(e) => set("startEnabled", e.currentTarget.checked)}
            />
            Start a workflow for every event
          </label>
          {form.startEnabled && (
            <div id="start-fields">
              <NameVersions
                legend="Workflows to start"
                idBase="start"
                rows={form.starts}
                onChange={(v) => set("starts", v)}
                error={errors.workflowsToStart}
                errorId="workflowsToStart-error"
                addLabel="Add workflow to start"
              />
              <div class="field">
                <label for="idempotencyKey">Idempotency key</label>
                <input
                  id="idempotencyKey"
                  type="text"
                  placeholder="${workflow.input.id}"
                  value={form.idempotencyKey}
                  aria-invalid={invalid("idempotencyKey")}
                  aria-describedby={`idempotencyKey-help${errors.idempotencyKey ? " idempotencyKey-error" : ""}`}
                  onInput={(e) => set("idempotencyKey", e.currentTarget.value)}
                />
                <p class="help" id="idempotencyKey-help">
                  A template over the event; events with the same key start the workflow once.
                </p>
                <FieldError id="idempotencyKey-error" message={errors.idempotencyKey} />
              </div>
              <div class="field">
                <label for="idempotencyStrategy">Idempotency strategy</label>
                <select
                  id="idempotencyStrategy"
                  value={form.idempotencyStrategy}
                  aria-invalid={invalid("idempotencyStrategy")}
                  aria-describedby={described("idempotencyStrategy")}
                  onChange={(e) => set("idempotencyStrategy", e.currentTarget.value)}
                >
                  <option value="">Default (FAIL)</option>
                  {STRATEGIES.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
                <FieldError id="idempotencyStrategy-error" message={errors.idempotencyStrategy} />
              </div>
            </div>
          )}
        </fieldset>

        <KeyValues
          legend="Tags"
          idBase="tag"
          keyLabel="Key"
          valueLabel="Value"
          rows={form.tags}
          onChange={(v) => set("tags", v)}
          error={errors.tags}
          errorId="tags-error"
          addLabel="Add tag"
        />

        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
          <Link href={editing ? `/webhooks/${encodeURIComponent(id!)}` : "/webhooks"} class="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </main>
  );
}

function secretLabel(verifier: string): string {
  switch (verifier) {
    case "SLACK_BASED":
      return "Signing secret";
    case "STRIPE":
      return "Signing secret (whsec_…)";
    case "HMAC_BASED":
      return "Security token";
    case "WASM_PLUGIN":
      return "Secret";
    default:
      return "Secret";
  }
}

function SecretField(props: {
  id: FormField;
  label: string;
  value: string;
  hint?: string;
  error?: string;
  onInput: (v: string) => void;
}) {
  const describedBy = [props.hint && `${props.id}-help`, props.error && `${props.id}-error`]
    .filter(Boolean)
    .join(" ");
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="password"
        autocomplete="new-password"
        value={props.value}
        placeholder={props.hint ? "•••••• (unchanged)" : undefined}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={describedBy || undefined}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      {props.hint && (
        <p class="help" id={`${props.id}-help`}>
          {props.hint}
        </p>
      )}
      <FieldError id={`${props.id}-error`} message={props.error} />
    </div>
  );
}

function NameVersions(props: {
  legend: string;
  idBase: string;
  rows: NameVersion[];
  onChange: (rows: NameVersion[]) => void;
  error?: string;
  errorId: string;
  addLabel: string;
}) {
  const { rows, onChange } = props;
  const update = (i: number, patch: Partial<NameVersion>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset
      class="group rows"
      id={props.idBase}
      data-invalid={props.error ? "true" : undefined}
      aria-describedby={props.error ? props.errorId : undefined}
      tabIndex={props.error ? -1 : undefined}
    >
      <legend>{props.legend}</legend>
      {rows.map((r, i) => (
        <div class="row" key={i}>
          <div class="field grow">
            <label for={`${props.idBase}-name-${i}`}>Workflow name</label>
            <input
              id={`${props.idBase}-name-${i}`}
              type="text"
              value={r.name}
              onInput={(e) => update(i, { name: e.currentTarget.value })}
            />
          </div>
          <div class="field version">
            <label for={`${props.idBase}-version-${i}`}>Version</label>
            <input
              id={`${props.idBase}-version-${i}`}
              type="text"
              inputMode="numeric"
              value={r.version}
              onInput={(e) => update(i, { version: e.currentTarget.value })}
            />
          </div>
          <button
            type="button"
            class="secondary remove"
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          >
            Remove<span class="visually-hidden"> workflow {r.name || i + 1}</span>
          </button>
        </div>
      ))}
      <FieldError id={props.errorId} message={props.error} />
      <button type="button" class="secondary" onClick={() => onChange([...rows, { name: "", version: "1" }])}>
        {props.addLabel}
      </button>
    </fieldset>
  );
}

function KeyValues(props: {
  legend: string;
  idBase: string;
  keyLabel: string;
  valueLabel: string;
  secretValues?: boolean;
  valueHint?: string;
  rows: KeyValue[];
  onChange: (rows: KeyValue[]) => void;
  error?: string;
  errorId: string;
  addLabel: string;
}) {
  const { rows, onChange } = props;
  const update = (i: number, patch: Partial<KeyValue>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset
      class="group rows"
      id={props.idBase}
      data-invalid={props.error ? "true" : undefined}
      aria-describedby={props.error ? props.errorId : undefined}
      tabIndex={props.error ? -1 : undefined}
    >
      <legend>{props.legend}</legend>
      {props.valueHint && <p class="help">{props.valueHint}</p>}
      {rows.map((r, i) => (
        <div class="row" key={i}>
          <div class="field grow">
            <label for={`${props.idBase}-key-${i}`}>{props.keyLabel}</label>
            <input
              id={`${props.idBase}-key-${i}`}
              type="text"
              value={r.key}
              onInput={(e) => update(i, { key: e.currentTarget.value })}
            />
          </div>
          <div class="field grow">
            <label for={`${props.idBase}-value-${i}`}>{props.valueLabel}</label>
            <input
              id={`${props.idBase}-value-${i}`}
              type={props.secretValues ? "password" : "text"}
              autocomplete={props.secretValues ? "new-password" : undefined}
              value={r.value}
              onInput={(e) => update(i, { value: e.currentTarget.value })}
            />
          </div>
          <button
            type="button"
            class="secondary remove"
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          >
            Remove<span class="visually-hidden"> {r.key || i + 1}</span>
          </button>
        </div>
      ))}
      <FieldError id={props.errorId} message={props.error} />
      <button type="button" class="secondary" onClick={() => onChange([...rows, { key: "", value: "" }])}>
        {props.addLabel}
      </button>
    </fieldset>
  );
}

function PluginSecrets(props: {
  kept: number;
  fresh: string[];
  onKept: (n: number) => void;
  onFresh: (v: string[]) => void;
  error?: string;
}) {
  return (
    <fieldset
      class="group rows"
      id="pluginSecrets"
      aria-describedby={props.error ? "pluginSecrets-error" : undefined}
    >
      <legend>Further secrets (rotation)</legend>
      {props.kept > 0 && (
        <p class="help">
          {props.kept} stored secret{props.kept > 1 ? "s" : ""}, not shown.{" "}
          <button type="button" class="link" onClick={() => props.onKept(props.kept - 1)}>
            Remove the last stored secret
          </button>
        </p>
      )}
      {props.fresh.map((s, i) => (
        <div class="row" key={i}>
          <div class="field grow">
            <label for={`pluginSecret-${i}`}>New secret {i + 1}</label>
            <input
              id={`pluginSecret-${i}`}
              type="password"
              autocomplete="new-password"
              value={s}
              onInput={(e) =>
                props.onFresh(props.fresh.map((x, j) => (j === i ? e.currentTarget.value : x)))
              }
            />
          </div>
          <button
            type="button"
            class="secondary remove"
            onClick={() => props.onFresh(props.fresh.filter((_, j) => j !== i))}
          >
            Remove<span class="visually-hidden"> new secret {i + 1}</span>
          </button>
        </div>
      ))}
      <FieldError id="pluginSecrets-error" message={props.error} />
      <button type="button" class="secondary" onClick={() => props.onFresh([...props.fresh, ""])}>
        Add secret
      </button>
    </fieldset>
  );
}
