// The admin API client: one place that adds the credential, parses answers and turns error
// bodies into ApiError. Error bodies come in two shapes: hookd's `{"error","message"}` and
// Conductor's `{"status","message","instance","retryable","code","validationErrors"?}`.

/** A field named by the server as invalid. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** A non-2xx answer of the admin API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly problems: FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** Reads either error shape (anything else: the status line). */
export function toApiError(status: number, body: unknown): ApiError {
  const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const message =
    typeof b.message === "string" && b.message
      ? b.message
      : typeof b.error === "string"
        ? b.error
        : `HTTP ${status}`;
  const code =
    typeof b.error === "string" ? b.error : typeof b.code === "string" ? b.code : String(status);
  const problems: FieldProblem[] = Array.isArray(b.validationErrors)
    ? (b.validationErrors as Record<string, unknown>[])
        .filter((v) => v && typeof v.message === "string")
        .map((v) => ({ path: String(v.path ?? ""), message: String(v.message) }))
    : [];
  return new ApiError(status, message, code, problems);
}

let credential: string | null = null;

/** Sets the value sent as `X-Authorization` (null: signed out). */
export function setAuthorization(value: string | null) {
  credential = value;
}

/** Fired when the API answers 401 to a signed-in request (the credential was revoked). */
export const UNAUTHORIZED_EVENT = "hookd:unauthorized";

/** Calls the admin API; resolves to the parsed JSON body (undefined for an empty one). */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  authorization: string | null = credential,
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (authorization) headers["X-Authorization"] = authorization;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "hookd cannot be reached", "network");
  }
  const text = await resp.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!resp.ok) {
    if (resp.status === 401 && authorization && authorization === credential) {
      dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    }
    throw toApiError(resp.status, parsed);
  }
  return parsed as T;
}
