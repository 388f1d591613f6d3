import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { html } from "./html.js";

// The org's assistants, for admins: instructions, provider and model, folders, suggestions, handoff, vision.
// "Preview" asks the ask API with the form's unsaved instructions, provider, model and folders (its inline
// preview assistant, never stored), so an admin sees a reply before saving.

const lines = (text) =>
  String(text ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

/** The form's fields as the management API takes them. */
function fieldsOf(form) {
  const f = new FormData(form);
  const provider = f.get("provider");
  return {
    description: f.get("description"),
    instructions: f.get("instructions"),
    provider: provider === "default" ? null : provider,
    model: f.get("model").trim() || null,
    deployed: f.get("deployed") === "on",
    vision: f.get("vision") === "on",
    folderIds: f.getAll("folder"),
    suggestions: lines(f.get("suggestions")),
    handoffPhrases: lines(f.get("handoffPhrases")),
    handoffMessage: f.get("handoffMessage").trim() || null,
    handoffAfterMisses: f.get("handoffAfterMisses") === "" ? null : Number(f.get("handoffAfterMisses")),
  };
}

export function Assistants() {
  const [assistants, setAssistants] = useState(null);
  const [folders, setFolders] = useState([]);
  const [selected, setSelected] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    api("/api/assistants").then(
      ({ assistants }) => {
        setAssistants(assistants);
        setSelected((s) => s ?? assistants[0]?.id ?? null);
      },
      (e) => setError(e.message),
    );
  useEffect(() => {
    load();
    api("/api/folders").then(
      (b) => setFolders(b.folders),
      (e) => setError(e.message),
    );
  }, []);

  const create = async (e) => {
    e.preventDefault();
    const form = e.target;
    try {
      const created = await api("/api/assistants", { body: { name: new FormData(form).get("name") } });
      form.reset();
      setError(null);
      setSelected(created.id);
      await load();
    } catch (err) {
      setError(err.message);
    }
  };
  const current = assistants?.find((a) => a.id === selected);

  return html`<section class="view assistants" aria-labelledby="assistants-title">
    <h1 id="assistants-title">Assistants</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="split">
      <nav class="list" aria-label="Assistants">
        <ul>
          ${assistants?.map(
            (a) => html`<li key=${a.id}>
              <button type="button" class="item" aria-current=${a.id === selected ? "true" : undefined} onClick=${() => setSelected(a.id)}>
                ${a.name} ${!a.deployed && html`<span class="muted">(not deployed)</span>`}
              </button>
            </li>`,
          )}
        </ul>
        <form class="inline" onSubmit=${create}>
          <label for="assistant-name">New assistant</label>
          <input id="assistant-name" name="name" required maxlength="100" />
          <button type="submit">Create</button>
        </form>
      </nav>
      ${current && html`<${Editor} key=${current.id} assistant=${current} folders=${folders} onSaved=${load} />`}
    </div>
  </section>`;
}

// Fields are uncontrolled (default values): the preview's re-renders keep what the admin typed.
function Editor({ assistant: a, folders, onSaved }) {
  const [note, setNote] = useState("");
  const [error, setError] = useState(null);
  const id = (name) => `a-${name}`;

  const save = async (e) => {
    e.preventDefault();
    try {
      await api(`/api/assistants/${a.id}`, { method: "PATCH", body: fieldsOf(e.target) });
      setError(null);
      setNote(`Saved ${a.name}.`);
      onSaved();
    } catch (err) {
      setError(err.message);
    }
  };

  return html`<div class="detail">
    <form id=${id("form")} class="editor" onSubmit=${save}>
      <h2>${a.name}</h2>
      <label for=${id("description")}>Description</label>
      <input id=${id("description")} name="description" defaultValue=${a.description} maxlength="2000" />
      <label for=${id("instructions")}>Instructions</label>
      <textarea id=${id("instructions")} name="instructions" rows="6" maxlength="20000" defaultValue=${a.instructions} />
      <div class="pair">
        <div>
          <label for=${id("provider")}>Provider</label>
          <select id=${id("provider")} name="provider">
            <option value="default" selected=${a.provider === "default"}>The hub's default</option>
            <option value="knowledge" selected=${a.provider === "knowledge"}>Knowledge (answers with passages, no model)</option>
            <option value="openai" selected=${a.provider === "openai"}>OpenAI-compatible model</option>
          </select>
        </div>
        <div>
          <label for=${id("model")}>Model</label>
          <input id=${id("model")} name="model" defaultValue=${a.model ?? ""} placeholder="The hub's default" maxlength="200" />
        </div>
      </div>
      <fieldset>
        <legend>Folders it reads (none: every folder; the public ones only, for widget and WhatsApp users)</legend>
        ${folders.length === 0 && html`<p class="hint">No folders yet.</p>`}
        ${folders.map(
          (f) => html`<label class="check" key=${f.id}>
            <input type="checkbox" name="folder" value=${f.id} defaultChecked=${a.folderIds.includes(f.id)} /> ${f.name}
          </label>`,
        )}
      </fieldset>
      <label for=${id("suggestions")}>Suggestions (one a line, shown to users as chips)</label>
      <textarea id=${id("suggestions")} name="suggestions" rows="3" defaultValue=${a.suggestions.join("\n")} />
      <label for=${id("handoffPhrases")}>Handoff phrases (one a line; empty: the hub's own)</label>
      <textarea id=${id("handoffPhrases")} name="handoffPhrases" rows="3" defaultValue=${a.handoffPhrases.join("\n")} />
      <label for=${id("handoffMessage")}>Handoff message (empty: the hub's)</label>
      <textarea id=${id("handoffMessage")} name="handoffMessage" rows="2" maxlength="2000" defaultValue=${a.handoffMessage ?? ""} />
      <label for=${id("handoffAfterMisses")}>Hand off after this many answers in a row without knowledge (0: never; empty: the hub's)</label>
      <input id=${id("handoffAfterMisses")} name="handoffAfterMisses" type="number" min="0" max="100" defaultValue=${a.handoffAfterMisses ?? ""} />
      <label class="check"><input type="checkbox" name="vision" defaultChecked=${a.vision} /> Vision: its model reads users' photos</label>
      <label class="check"><input type="checkbox" name="deployed" defaultChecked=${a.deployed} /> Deployed: channels may use it</label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p class="note" role="status">${note}</p>
      <button type="submit">Save</button>
    </form>
    <${Preview} assistant=${a} formId=${id("form")} />
  </div>`;
}

/** Asks with the editor's unsaved fields as the ask API's inline preview assistant. */
function Preview({ assistant: a, formId }) {
  const [reply, setReply] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const ask = async (e) => {
    e.preventDefault();
    const fields = fieldsOf(document.getElementById(formId));
    setBusy(true);
    try {
      const answer = await api("/api/ai-hub/assistant/ask", {
        body: {
          // A conversation of its own each time: no earlier preview colours the reply.
          id: `console-preview-${crypto.randomUUID()}`,
          assistantId: a.id,
          message: { role: "user", content: new FormData(e.target).get("question") },
          ...(fields.folderIds.length ? { foldersId: fields.folderIds } : {}),
          previewAssistantData: {
            name: a.name,
            description: fields.description,
            instructions: fields.instructions,
            ...(fields.provider ? { provider: fields.provider } : {}),
            ...(fields.model ? { model: fields.model } : {}),
          },
        },
      });
      setReply({ content: answer.message?.content ?? "", sources: answer.metadata?.knowledge_sources ?? [] });
      setError(null);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="preview" onSubmit=${ask} aria-labelledby="preview-title">
    <h3 id="preview-title">Preview a reply, with the changes above, before saving</h3>
    <label for="preview-question">Question</label>
    <input id="preview-question" name="question" required maxlength="2000" />
    <button type="submit" class="quiet" disabled=${busy}>${busy ? "Asking…" : "Preview"}</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div role="status" class="reply-preview">
      ${reply && html`<p class="text">${reply.content}</p>`}
      ${reply?.sources.length > 0 && html`<p class="muted">Drew on: ${reply.sources.join(", ")}</p>`}
    </div>
  </form>`;
}
