import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { signIn, type Info, type SignInInput } from "../auth";
import { Notice } from "../components";

export function SignIn({ onSignedIn }: { onSignedIn: (info: Info) => void }) {
  const [kind, setKind] = useState<SignInInput["kind"]>("adminToken");
  const [token, setToken] = useState("");
  const [keyId, setKeyId] = useState("");
  const [keySecret, setKeySecret] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const input: SignInInput =
        kind === "adminToken" ? { kind, token } : { kind, keyId, keySecret };
      onSignedIn(await signIn(input));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Signing in failed.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <h1>Sign in to hookd</h1>
      <form onSubmit={submit} noValidate aria-describedby="signin-note">
        <fieldset>
          <legend>Sign in with</legend>
          <label class="choice">
            <input
              type="radio"
              name="kind"
              value="adminToken"
              checked={kind === "adminToken"}
              onChange={() => setKind("adminToken")}
            />
            Admin token
          </label>
          <label class="choice">
            <input
              type="radio"
              name="kind"
              value="applicationKey"
              checked={kind === "applicationKey"}
              onChange={() => setKind("applicationKey")}
            />
            Application key
          </label>
        </fieldset>
        {kind === "adminToken" ? (
          <div class="field">
            <label for="token">Admin token</label>
            <input
              id="token"
              type="password"
              autocomplete="current-password"
              value={token}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          </div>
        ) : (
          <>
            <div class="field">
              <label for="keyId">Key id</label>
              <input
                id="keyId"
                type="text"
                autocomplete="username"
                value={keyId}
                onInput={(e) => setKeyId(e.currentTarget.value)}
              />
            </div>
            <div class="field">
              <label for="keySecret">Key secret</label>
              <input
                id="keySecret"
                type="password"
                autocomplete="current-password"
                value={keySecret}
                onInput={(e) => setKeySecret(e.currentTarget.value)}
              />
            </div>
          </>
        )}
        {error && <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p id="signin-note" class="muted">
          The credential stays in this browser tab (session storage) and is sent to hookd as the{" "}
          <code>X-Authorization</code> header. No cookie is set.
        </p>
      </form>
    </main>
  );
}
