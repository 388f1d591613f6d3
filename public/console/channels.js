import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { html } from "./html.js";

// The org's channels, for admins: its Twilio numbers and the assistant each is bound to (rebind, and the
// re-engagement template sent outside WhatsApp's 24-hour window), and the widget's snippet with the org's
// end-user secret, which the hub shows once, when it is made: rotating is the only way to see one.

export function Channels({ me }) {
  const [numbers, setNumbers] = useState(null);
  const [assistants, setAssistants] = useState([]);
  const [error, setError] = useState(null);
  const loadNumbers = () =>
    api("/api/twilio/numbers").then(
      (b) => setNumbers(b.numbers),
      // Without a Twilio account the hub serves no numbers API.
      (err) => (err.status === 404 ? setNumbers(false) : setError(err.message)),
    );
  useEffect(() => {
    loadNumbers();
    api("/api/assistants").then(
      (b) => setAssistants(b.assistants),
      (e) => setError(e.message),
    );
  }, []);

  return html`<section class="view channels" aria-labelledby="channels-title">
    <h1 id="channels-title">Channels</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <h2>WhatsApp and SMS numbers</h2>
    ${numbers === false && html`<p class="hint">Twilio is not configured on this hub (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_URL).</p>`}
    ${numbers?.length === 0 && html`<p class="hint">No number is assigned to this org yet: the hub's operator assigns them.</p>`}
    ${numbers?.map((n) =>
      // The default org's admins see every org's numbers (the hub's operator assigns them): others' are not theirs to bind.
      n.orgId === me.orgId
        ? html`<${NumberRow} key=${n.number} binding=${n} assistants=${assistants} onSaved=${loadNumbers} />`
        : html`<p key=${n.number} class="number">${n.number}: assigned to the org ${n.orgId} (its assistant ${n.assistantName})</p>`,
    )}
    <${Widget} me=${me} />
  </section>`;
}

function NumberRow({ binding: n, assistants, onSaved }) {
  const [note, setNote] = useState("");
  const [error, setError] = useState(null);
  const slug = n.number.replace(/\D/g, "");
  const save = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const sid = f.get("template").trim();
    // The template's variables are kept while its SID is (the console does not edit them).
    const kept = n.reengagementTemplate?.contentSid === sid ? n.reengagementTemplate.variables : undefined;
    try {
      await api(`/api/twilio/numbers/${encodeURIComponent(n.number)}`, {
        method: "PUT",
        body: {
          assistant: f.get("assistant"),
          reengagement_template: sid ? { content_sid: sid, ...(kept ? { content_variables: kept } : {}) } : null,
        },
      });
      setError(null);
      setNote(`Saved ${n.number}.`);
      onSaved();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="number" onSubmit=${save} aria-label=${`Number ${n.number}`}>
    <h3>${n.number}</h3>
    <div class="pair">
      <div>
        <label for=${`assistant-${slug}`}>Assistant</label>
        <select id=${`assistant-${slug}`} name="assistant">
          ${assistants.map((a) => html`<option key=${a.id} value=${a.id} selected=${a.id === n.assistantId}>${a.name}</option>`)}
        </select>
      </div>
      <div>
        <label for=${`template-${slug}`}>Re-engagement template (Content SID)</label>
        <input
          id=${`template-${slug}`}
          name="template"
          defaultValue=${n.reengagementTemplate?.contentSid ?? ""}
          pattern="HX[0-9a-f]{32}"
          placeholder="HX…, empty: none"
          aria-describedby=${`template-help-${slug}`}
        />
        <p id=${`template-help-${slug}`} class="muted small">Sent when a reply would fall outside WhatsApp's 24-hour window.</p>
      </div>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="note" role="status">${note}</p>
    <button type="submit">Save</button>
  </form>`;
}

function Widget({ me }) {
  const [secret, setSecret] = useState(null);
  const [error, setError] = useState(null);
  const snippet = `<script src="${location.origin}/widget.js" data-org="${me.orgId}" async></script>`;
  const rotate = async () => {
    if (!confirm("Make a new end-user secret? Tokens signed with the current one stop working at once.")) return;
    try {
      setSecret((await api("/api/ws/end-user-secret", { body: {} })).end_user_secret);
      setError(null);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<section aria-labelledby="widget-title">
    <h2 id="widget-title">Website widget</h2>
    <label for="snippet">Add this tag to your site's pages (and its origin to WS_ALLOWED_ORIGINS)</label>
    <textarea id="snippet" readonly rows="2" value=${snippet} onFocus=${(e) => e.target.select()} />
    <h3>End-user secret</h3>
    <p class="muted">
      Your backend signs end-user tokens (HS256, <code>sub</code> the user's id) with it, and a page passes one as <code>data-token</code>.
      The hub shows a secret once, when it is made.
    </p>
    <button type="button" class="quiet" onClick=${rotate}>Rotate the end-user secret</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${
      secret &&
      html`<div role="status">
        <label for="secret">New end-user secret (copy it now: it is not shown again)</label>
        <input id="secret" readonly value=${secret} onFocus=${(e) => e.target.select()} />
      </div>`
    }
  </section>`;
}
