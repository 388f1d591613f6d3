import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, startLive, stopLive } from "./api.js";
import { Assistants } from "./assistants.js";
import { Channels } from "./channels.js";
import { Conversation } from "./conversation.js";
import { html } from "./html.js";
import { Inbox } from "./inbox.js";
import { Insights } from "./insights.js";
import { Knowledge } from "./knowledge.js";
import { Operators } from "./operators.js";

// The operator console: sign in, then the inbox, a conversation, insights, the knowledge, or (admins) the
// assistants, channels and operators, chosen by the URL's hash (#/inbox, #/conversations/<id>, #/insights…) so
// the back button and links work. The inbox stays mounted beside an open conversation (it keeps counting who
// waits); narrow screens show one of them.

const route = () => location.hash.replace(/^#\/?/, "").split("/");

/** The views beside the inbox, by their hash; `admin`: for admins only (the API refuses agents too). */
const VIEWS = {
  insights: { label: "Insights", View: Insights },
  knowledge: { label: "Knowledge", View: Knowledge },
  assistants: { label: "Assistants", View: Assistants, admin: true },
  channels: { label: "Channels", View: Channels, admin: true },
  operators: { label: "Operators", View: Operators, admin: true },
};

function Login({ onSignedIn }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    setBusy(true);
    setError(null);
    try {
      const { operator } = await api("/api/console/login", { body: { email: form.get("email"), password: form.get("password") } });
      onSignedIn(operator);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <h1>Console</h1>
    <form onSubmit=${submit}>
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required autofocus />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [path, setPath] = useState(route());
  const [waiting, setWaiting] = useState(0);

  useEffect(() => {
    api("/api/console/me").then(
      ({ operator }) => setMe(operator),
      () => setMe(null),
    );
    const onHash = () => setPath(route());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    if (!me) return;
    startLive();
    return stopLive;
  }, [me]);
  useEffect(() => {
    document.title = waiting ? `(${waiting}) Console` : "Console";
  }, [waiting]);

  if (me === undefined) return html`<p class="loading">Loading…</p>`;
  if (me === null) return html`<${Login} onSignedIn=${setMe} />`;
  const logout = async () => {
    await api("/api/console/logout", { method: "POST" }).catch(() => {});
    setMe(null);
  };
  const [view, id] = path;
  const open = view === "conversations" && id ? decodeURIComponent(id) : null;
  const current = open ? "inbox" : view || "inbox";
  const views = Object.entries(VIEWS).filter(([, v]) => !v.admin || me.role === "admin");
  const page = views.find(([name]) => name === current)?.[1];
  const link = (name, label, badge) =>
    html`<a href=${`#/${name}`} aria-current=${current === name ? "page" : undefined}>${label}${badge ? html` <span class="count" aria-label=${`${badge} waiting`}>${badge}</span>` : ""}</a>`;
  return html`
    <header>
      <nav aria-label="Console">
        ${link("inbox", "Inbox", waiting)} ${views.map(([name, v]) => link(name, v.label))}
      </nav>
      <span class="who">${me.email} (${me.role})</span>
      <button type="button" class="quiet" onClick=${logout}>Sign out</button>
    </header>
    ${
      page
        ? html`<${page.View} me=${me} />`
        : html`<div class=${open ? "panes open" : "panes"}>
            <${Inbox} onWaiting=${setWaiting} selected=${open} />
            ${open ? html`<${Conversation} id=${open} me=${me} />` : html`<p class="hint">Choose a conversation.</p>`}
          </div>`
    }
  `;
}

render(html`<${App} />`, document.getElementById("app"));
