// Signing in: the credential is checked against the API, then kept in this tab's session storage
// (never a cookie) and sent as `X-Authorization`. Two ways in: the admin token itself, or an
// application key (id + secret) exchanged for a token at `POST /api/token` (Orkes' flow), for
// hookds that issue such tokens.
import { api, ApiError, setAuthorization } from "./api";

/** What `GET /api/console/info` answers. */
export interface Info {
  webhookUrlPrefix: string | null;
  publicUrlSet: boolean;
  hint: string | null;
  principal: string;
  pluginsEnabled: boolean;
  version: string;
}

export type SignInInput =
  | { kind: "adminToken"; token: string }
  | { kind: "applicationKey"; keyId: string; keySecret: string };

interface Stored {
  kind: SignInInput["kind"];
  authorization: string;
}

const STORAGE_KEY = "hookd.console.session";

/** The session of this tab, if any. */
export function restore(): Stored | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Stored | null;
    if (s && typeof s.authorization === "string") {
      setAuthorization(s.authorization);
      return s;
    }
  } catch {
    /* a damaged entry is no session */
  }
  return null;
}

/** Forgets the credential. */
export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
  setAuthorization(null);
}

/** Checks the credential and, when the API accepts it, keeps it for this tab. */
export async function signIn(input: SignInInput): Promise<Info> {
  let authorization: string;
  if (input.kind === "adminToken") {
    authorization = input.token.trim();
    if (!authorization) throw new ApiError(400, "Enter the admin token.", "empty");
  } else {
    if (!input.keyId.trim() || !input.keySecret) {
      throw new ApiError(400, "Enter the key id and the key secret.", "empty");
    }
    let answer: { token?: string };
    try {
      answer = await api<{ token?: string }>(
        "POST",
        "/api/token",
        { keyId: input.keyId.trim(), keySecret: input.keySecret },
        null,
      );
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
        throw new ApiError(
          e.status,
          "This hookd does not accept application keys; sign in with the admin token.",
          "unsupported",
        );
      }
      throw refused(e);
    }
    if (!answer?.token) throw new ApiError(502, "No token came back for this key.", "no_token");
    authorization = answer.token;
  }
  let info: Info;
  try {
    info = await api<Info>("GET", "/api/console/info", undefined, authorization);
  } catch (e) {
    throw refused(e);
  }
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: input.kind, authorization }));
  setAuthorization(authorization);
  return info;
}

function refused(e: unknown): unknown {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
    return new ApiError(e.status, "hookd refused this credential.", e.code);
  }
  return e;
}
