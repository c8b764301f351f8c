// The webhook wire model (Orkes' WebhookConfig, camelCase) and how the form maps onto it.
import type { FieldProblem } from "./api";

export interface Tag {
  key: string;
  value: string;
}

/** One history entry; `payload` is an object today and a JSON string in Conductor's shape. */
export interface HistoryEntry {
  eventId: string;
  matched: boolean;
  workflowIds: string[];
  payload: unknown;
  timeStamp: number;
  dryRun?: boolean;
  deadLetter?: string;
}

export interface WebhookConfig {
  name: string;
  id?: string;
  receiverWorkflowNamesToVersions?: Record<string, unknown>;
  workflowsToStart?: Record<string, unknown>;
  urlVerified: boolean;
  sourcePlatform?: string;
  verifier: string;
  headers?: Record<string, string>;
  headerKey?: string;
  secretKey?: string;
  secretValue?: string;
  createdBy?: string;
  tags: Tag[];
  webhookExecutionHistory: HistoryEntry[];
  plugin?: string;
  pluginParams?: Record<string, string>;
  pluginSecrets?: string[];
  [other: string]: unknown;
}

/** What the API shows instead of a secret, and sends back to keep one. */
export const MASK = "***";

export const STRATEGIES = ["FAIL", "RETURN_EXISTING", "FAIL_ON_RUNNING"] as const;
const RESERVED = ["idempotencyKey", "idempotencyStrategy"];

/** A source platform of the form: a built-in verifier, or a loaded plugin. */
export interface Platform {
  id: string;
  label: string;
  verifier: string;
  plugin?: string;
}

export const BUILTIN_PLATFORMS: Platform[] = [
  { id: "Github", label: "GitHub", verifier: "SIGNATURE_BASED" },
  { id: "Slack", label: "Slack", verifier: "SLACK_BASED" },
  { id: "Stripe", label: "Stripe", verifier: "STRIPE" },
  { id: "Microsoft Teams", label: "Microsoft Teams", verifier: "HMAC_BASED" },
  { id: "SendGrid", label: "SendGrid", verifier: "SENDGRID" },
  { id: "Custom", label: "Custom", verifier: "HEADER_BASED" },
];

export function pluginPlatform(name: string): Platform {
  return { id: `plugin:${name}`, label: `${name} (plugin)`, verifier: "WASM_PLUGIN", plugin: name };
}

/** The platform a stored webhook belongs to in the form. */
export function platformOf(w: WebhookConfig): Platform {
  if (w.verifier === "WASM_PLUGIN") return pluginPlatform(w.plugin ?? "");
  const sp = (w.sourcePlatform ?? "").toLowerCase();
  return (
    BUILTIN_PLATFORMS.find((p) => p.verifier === w.verifier && p.id.toLowerCase() === sp) ??
    BUILTIN_PLATFORMS.find((p) => p.verifier === w.verifier) ?? {
      id: w.verifier,
      label: w.verifier,
      verifier: w.verifier,
    }
  );
}

/** The label of a webhook's source platform, for lists. */
export function platformLabel(w: WebhookConfig): string {
  if (w.verifier === "WASM_PLUGIN") return w.sourcePlatform || `${w.plugin} (plugin)`;
  const b = BUILTIN_PLATFORMS.find(
    (p) => p.id.toLowerCase() === (w.sourcePlatform ?? "").toLowerCase(),
  );
  return b?.label ?? w.sourcePlatform ?? platformOf(w).label;
}

/** A history entry's payload as a value (a JSON string is parsed). */
export function payloadOf(e: HistoryEntry): unknown {
  if (typeof e.payload === "string") {
    try {
      return JSON.parse(e.payload);
    } catch {
      return e.payload;
    }
  }
  return e.payload;
}

// ---- the form ----

export interface NameVersion {
  name: string;
  version: string;
}
export interface KeyValue {
  key: string;
  value: string;
}

export interface FormState {
  name: string;
  receivers: NameVersion[];
  platform: string;
  headerKey: string;
  /** Empty on edit: keep the stored one. */
  secretValue: string;
  secretKey: string;
  /** Custom: header name and value; an empty value on edit keeps a stored header's value. */
  headers: KeyValue[];
  pluginParams: KeyValue[];
  /** Stored plugin secrets kept (by position), then new ones. */
  keptPluginSecrets: number;
  newPluginSecrets: string[];
  startEnabled: boolean;
  starts: NameVersion[];
  idempotencyKey: string;
  idempotencyStrategy: string;
  tags: KeyValue[];
}

export function defaultHeaderKey(verifier: string): string {
  if (verifier === "SIGNATURE_BASED") return "X-Hub-Signature-256";
  if (verifier === "HMAC_BASED") return "Authorization";
  return "";
}

export function emptyForm(): FormState {
  return {
    name: "",
    receivers: [],
    platform: "Github",
    headerKey: "X-Hub-Signature-256",
    secretValue: "",
    secretKey: "",
    headers: [{ key: "", value: "" }],
    pluginParams: [],
    keptPluginSecrets: 0,
    newPluginSecrets: [],
    startEnabled: false,
    starts: [{ name: "", version: "1" }],
    idempotencyKey: "",
    idempotencyStrategy: "",
    tags: [],
  };
}

function versions(m: Record<string, unknown> | undefined, skip: string[] = []): NameVersion[] {
  return Object.entries(m ?? {})
    .filter(([k]) => !skip.includes(k))
    .map(([name, v]) => ({ name, version: String(v) }));
}

/** The form for editing a stored webhook (secrets stay on the server). */
export function formOf(w: WebhookConfig): FormState {
  const p = platformOf(w);
  const starts = versions(w.workflowsToStart, RESERVED);
  const reserved = (k: string) => {
    const v = w.workflowsToStart?.[k];
    return typeof v === "string" ? v : "";
  };
  return {
    ...emptyForm(),
    name: w.name,
    receivers: versions(w.receiverWorkflowNamesToVersions),
    platform: p.id,
    headerKey: w.headerKey ?? "",
    headers: Object.keys(w.headers ?? {}).map((key) => ({ key, value: "" })),
    pluginParams: Object.entries(w.pluginParams ?? {}).map(([key, value]) => ({ key, value })),
    keptPluginSecrets: w.pluginSecrets?.length ?? 0,
    startEnabled: starts.length > 0,
    starts: starts.length ? starts : [{ name: "", version: "1" }],
    idempotencyKey: reserved("idempotencyKey"),
    idempotencyStrategy: reserved("idempotencyStrategy"),
    tags: w.tags.map((t) => ({ key: t.key, value: t.value })),
  };
}

/** A version as typed: a number when it is one (else the text, for the server to name). */
function version(v: string): unknown {
  const t = v.trim();
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

function nameVersions(rows: NameVersion[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rows) if (r.name.trim()) out[r.name.trim()] = version(r.version);
  return out;
}

const VERIFICATION_FIELDS = [
  "headerKey",
  "secretValue",
  "secretKey",
  "headers",
  "plugin",
  "pluginParams",
  "pluginSecrets",
];

/**
 * The definition to send. `stored` (on edit) supplies the fields the form does not show
 * (kept as they are) and decides what an empty secret means: keep the stored one (`"***"`).
 */
export function toConfig(
  f: FormState,
  platforms: Platform[],
  stored?: WebhookConfig,
): Record<string, unknown> {
  const p = platforms.find((x) => x.id === f.platform) ?? BUILTIN_PLATFORMS[0];
  const out: Record<string, unknown> = { ...(stored ?? {}) };
  for (const k of [...VERIFICATION_FIELDS, "urlVerified", "webhookExecutionHistory"]) delete out[k];
  out.name = f.name;
  out.verifier = p.verifier;
  out.sourcePlatform = p.plugin ?? p.id;
  const samePlatform = stored !== undefined && platformOf(stored).id === p.id;
  const secret = (typed: string, was: string | undefined) =>
    typed !== "" ? typed : samePlatform && was ? MASK : undefined;
  const set = (k: string, v: unknown) => {
    if (v !== undefined && v !== "") out[k] = v;
  };
  switch (p.verifier) {
    case "SIGNATURE_BASED":
    case "HMAC_BASED":
      set("headerKey", f.headerKey.trim());
      set("secretValue", secret(f.secretValue, stored?.secretValue));
      break;
    case "SLACK_BASED":
    case "STRIPE":
      set("secretValue", secret(f.secretValue, stored?.secretValue));
      break;
    case "SENDGRID":
      set("secretKey", secret(f.secretKey, stored?.secretKey));
      break;
    case "HEADER_BASED": {
      const h: Record<string, string> = {};
      for (const r of f.headers) {
        const name = r.key.trim();
        if (!name) continue;
        const kept = samePlatform && stored?.headers && name in stored.headers;
        h[name] = r.value !== "" ? r.value : kept ? MASK : "";
      }
      out.headers = h;
      break;
    }
    case "WASM_PLUGIN": {
      out.plugin = p.plugin;
      set("secretValue", secret(f.secretValue, stored?.secretValue));
      const params: Record<string, string> = {};
      for (const r of f.pluginParams) if (r.key.trim()) params[r.key.trim()] = r.value;
      if (Object.keys(params).length) out.pluginParams = params;
      const kept = samePlatform ? f.keptPluginSecrets : 0;
      const secrets = [
        ...Array.from({ length: kept }, () => MASK),
        ...f.newPluginSecrets.filter((s) => s !== ""),
      ];
      if (secrets.length) out.pluginSecrets = secrets;
      break;
    }
  }
  const receivers = nameVersions(f.receivers);
  if (Object.keys(receivers).length) out.receiverWorkflowNamesToVersions = receivers;
  else delete out.receiverWorkflowNamesToVersions;
  if (f.startEnabled) {
    const starts = nameVersions(f.starts);
    if (f.idempotencyKey.trim()) starts.idempotencyKey = f.idempotencyKey.trim();
    if (f.idempotencyStrategy) starts.idempotencyStrategy = f.idempotencyStrategy;
    out.workflowsToStart = starts;
  } else {
    delete out.workflowsToStart;
  }
  out.tags = f.tags.filter((t) => t.key.trim()).map((t) => ({ key: t.key.trim(), value: t.value }));
  return out;
}

/** The form fields errors can be shown next to, most specific first. */
export const FORM_FIELDS = [
  "idempotencyKey",
  "idempotencyStrategy",
  "receiverWorkflowNamesToVersions",
  "workflowsToStart",
  "secretValue",
  "secretKey",
  "headerKey",
  "headers",
  "pluginParams",
  "pluginSecrets",
  "plugin",
  "sourcePlatform",
  "verifier",
  "name",
  "tags",
] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/** Which form field a server message (or a Conductor validation path) names, if any. */
export function fieldOf(text: string): FormField | null {
  const reserved = /workflowsToStart\.(idempotencyKey|idempotencyStrategy)\b/.exec(text);
  if (reserved) return reserved[1] as FormField;
  let best: { f: FormField; at: number } | null = null;
  for (const f of FORM_FIELDS) {
    const m = new RegExp(`(^|[^A-Za-z])${f}([^A-Za-z]|$)`).exec(text);
    if (!m) continue;
    const at = m.index;
    // The earliest mention wins; at the same place the more specific (listed first) does.
    if (!best || at < best.at) best = { f, at };
  }
  if (best?.f === "verifier" || best?.f === "plugin") return "sourcePlatform";
  return best?.f ?? null;
}

/** Server problems by form field; what names no field goes under `""`. */
export function fieldErrors(
  message: string,
  problems: FieldProblem[],
): Partial<Record<FormField | "", string>> {
  const out: Partial<Record<FormField | "", string>> = {};
  const list = problems.length ? problems : [{ path: "", message }];
  for (const p of list) {
    const f = fieldOf(p.path) ?? fieldOf(p.message) ?? "";
    out[f] = out[f] ? `${out[f]} ${p.message}` : p.message;
  }
  return out;
}
