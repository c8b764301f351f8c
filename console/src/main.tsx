// hookd's web console: the app shell (header, navigation, sign-in gate) and the routes.
// Hash routes (`#/webhooks/…`), so hookd serves a single page at `/`.
import { render, type ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Link, Redirect, Route, Router, Switch, useRoute } from "wouter-preact";
import { useHashLocation } from "wouter-preact/use-hash-location";
import { api, UNAUTHORIZED_EVENT } from "./api";
import { restore, signOut, type Info } from "./auth";
import { InfoContext } from "./context";
import { Plugins } from "./pages/Plugins";
import { SignIn } from "./pages/SignIn";
import { WebhookDetail } from "./pages/WebhookDetail";
import { WebhookForm } from "./pages/WebhookForm";
import { Webhooks } from "./pages/Webhooks";

function NavLink({ href, children }: { href: string; children: string }) {
  const [here] = useRoute(`${href}/*?`);
  return (
    <Link href={href} aria-current={here ? "page" : undefined}>
      {children}
    </Link>
  );
}

function Titled({ title, children }: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · hookd`;
  }, [title]);
  return <>{children}</>;
}

function App() {
  const [info, setInfo] = useState<Info | null>(null);
  const [checking, setChecking] = useState(() => restore() !== null);

  useEffect(() => {
    const out = () => {
      signOut();
      setInfo(null);
    };
    addEventListener(UNAUTHORIZED_EVENT, out);
    if (checking) {
      api<Info>("GET", "/api/console/info")
        .then(setInfo)
        .catch(() => signOut())
        .finally(() => setChecking(false));
    }
    return () => removeEventListener(UNAUTHORIZED_EVENT, out);
  }, []);

  if (checking) return <p class="loading">Loading…</p>;
  if (!info) {
    return (
      <>
        <header class="top">
          <span class="brand">hookd</span>
        </header>
        <Titled title="Sign in">
          <SignIn onSignedIn={setInfo} />
        </Titled>
      </>
    );
  }
  return (
    <InfoContext.Provider value={info}>
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">hookd</span>
        <nav aria-label="Main">
          <NavLink href="/webhooks">Webhooks</NavLink>
          <NavLink href="/plugins">Plugins</NavLink>
        </nav>
        <span class="who">
          <span class="who-label">Signed in as </span>
          <strong>{info.principal}</strong>
        </span>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            signOut();
            setInfo(null);
          }}
        >
          Sign out
        </button>
      </header>
      <Switch>
        <Route path="/webhooks">
          <Titled title="Webhooks">
            <Webhooks />
          </Titled>
        </Route>
        <Route path="/webhooks/new">
          <Titled title="New Webhook">
            <WebhookForm />
          </Titled>
        </Route>
        <Route path="/webhooks/:id/edit">
          {(p: { id: string }) => (
            <Titled title="Edit webhook">
              <WebhookForm id={p.id} />
            </Titled>
          )}
        </Route>
        <Route path="/webhooks/:id">
          {(p: { id: string }) => (
            <Titled title="Webhook">
              <WebhookDetail id={p.id} />
            </Titled>
          )}
        </Route>
        <Route path="/plugins">
          <Titled title="Plugins">
            <Plugins />
          </Titled>
        </Route>
        <Route>
          <Redirect to="/webhooks" replace />
        </Route>
      </Switch>
      <footer class="foot">hookd {info.version}</footer>
    </InfoContext.Provider>
  );
}

render(
  <Router hook={useHashLocation}>
    <App />
  </Router>,
  document.getElementById("app")!,
);
