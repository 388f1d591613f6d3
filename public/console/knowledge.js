import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "./api.js";
import { html } from "./html.js";

// The org's knowledge: folders, their documents (uploaded by drag and drop or the file picker, or fetched
// from a URL) with their ingest status, and a "try it" box that shows the passages a question finds.
// Agents add and re-sync documents; folders and deleting are an admin's (the API says so too).

const ACCEPT = ".pdf,.docx,.html,.htm,.md,.markdown,.txt,.csv";
/** How often a folder with documents still processing is read again. */
const POLL_MS = 1500;

/** A file as multipart/form-data: the management API's upload, with the session cookie. */
async function upload(folderId, file) {
  const form = new FormData();
  form.append("file", file);
  const res = await fetch(`/api/folders/${folderId}/documents`, { method: "POST", body: form, credentials: "same-origin" });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
}

export function Knowledge({ me }) {
  const admin = me.role === "admin";
  const [folders, setFolders] = useState(null);
  const [selected, setSelected] = useState(null);
  const [error, setError] = useState(null);
  const fail = (err) => setError(err.message);
  const loadFolders = () =>
    api("/api/folders").then(({ folders }) => {
      setFolders(folders);
      setSelected((s) => (folders.some((f) => f.id === s) ? s : (folders[0]?.id ?? null)));
    }, fail);
  useEffect(() => {
    loadFolders();
  }, []);

  const create = async (e) => {
    e.preventDefault();
    const form = e.target;
    const name = new FormData(form).get("name");
    try {
      const folder = await api("/api/folders", { body: { name } });
      form.reset();
      setError(null);
      await loadFolders();
      setSelected(folder.id);
    } catch (err) {
      fail(err);
    }
  };

  return html`<section class="view knowledge" aria-labelledby="knowledge-title">
    <h1 id="knowledge-title">Knowledge</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="split">
      <nav class="list" aria-label="Folders">
        ${folders === null && html`<p class="hint">Loading…</p>`}
        ${folders?.length === 0 && html`<p class="hint">No folders yet.</p>`}
        <ul>
          ${folders?.map(
            (f) => html`<li key=${f.id}>
              <button type="button" class="item" aria-current=${f.id === selected ? "true" : undefined} onClick=${() => setSelected(f.id)}>
                ${f.name} <span class="muted">${f.documents} doc${f.documents === 1 ? "" : "s"}</span>
              </button>
            </li>`,
          )}
        </ul>
        ${
          admin &&
          html`<form class="inline" onSubmit=${create}>
            <label for="folder-name">New folder</label>
            <input id="folder-name" name="name" required maxlength="200" />
            <button type="submit">Create</button>
          </form>`
        }
      </nav>
      ${selected ? html`<${Folder} key=${selected} id=${selected} admin=${admin} onChanged=${loadFolders} onError=${fail} />` : ""}
    </div>
  </section>`;
}

function Folder({ id, admin, onChanged, onError }) {
  const [folder, setFolder] = useState(null);
  const [note, setNote] = useState("");
  const [over, setOver] = useState(false);
  const picker = useRef(null);
  const load = () => api(`/api/folders/${id}`).then(setFolder, onError);
  useEffect(() => {
    load();
  }, [id]);
  // Documents being indexed: read the folder again until each is ready or failed.
  const processing = folder?.documents.some((d) => d.status === "processing");
  useEffect(() => {
    if (!processing) return;
    const timer = setTimeout(load, POLL_MS);
    return () => clearTimeout(timer);
  }, [folder]);

  const send = async (files) => {
    let sent = 0;
    for (const file of files) {
      setNote(`Uploading ${file.name}…`);
      // One refused file (too large, of a type not read) does not hold back the others.
      await upload(id, file).then(
        () => sent++,
        (err) => onError(new Error(`${file.name}: ${err.message}`)),
      );
    }
    setNote(`${sent} of ${files.length} file${files.length === 1 ? "" : "s"} sent: indexing.`);
    await load();
    onChanged();
  };
  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    if (e.dataTransfer?.files?.length) send([...e.dataTransfer.files]);
  };
  const picked = (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    if (files.length) send(files);
  };
  const addUrl = async (e) => {
    e.preventDefault();
    const form = e.target;
    try {
      await api(`/api/folders/${id}/documents`, { body: { url: new FormData(form).get("url") } });
      form.reset();
      setNote("Page added: fetching.");
      await load();
      onChanged();
    } catch (err) {
      onError(err);
    }
  };
  const act = (promise, done) =>
    promise.then(async () => {
      setNote(done);
      await load();
      onChanged();
    }, onError);
  const resync = (d) => act(api(`/api/folders/${id}/documents/${d.id}/refresh`, { method: "POST" }), `Fetching ${d.title} again.`);
  const remove = (d) =>
    confirm(`Delete ${d.title}?`) && act(api(`/api/folders/${id}/documents/${d.id}`, { method: "DELETE" }), `${d.title} deleted.`);
  const removeFolder = () =>
    confirm(`Delete the folder ${folder.name} and its ${folder.documents.length} documents? Assistants stop reading it.`) &&
    // Gone: the list is read again and chooses another folder, rather than this one being read again.
    api(`/api/folders/${id}`, { method: "DELETE" }).then(onChanged, onError);

  if (!folder) return html`<p class="hint">Loading…</p>`;
  return html`<div class="detail">
    <div class="title-row">
      <h2>${folder.name}</h2>
      ${admin && html`<button type="button" class="quiet" onClick=${removeFolder}>Delete folder</button>`}
    </div>
    <div
      class=${over ? "drop over" : "drop"}
      onDragOver=${(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave=${() => setOver(false)}
      onDrop=${drop}
    >
      <p>Drop PDF, Word (DOCX), HTML or Markdown files here, or</p>
      <button type="button" onClick=${() => picker.current.click()}>Choose files…</button>
      <input ref=${picker} id="upload" type="file" multiple accept=${ACCEPT} class="sr-only" tabindex="-1" aria-label="Files to upload" onChange=${picked} />
    </div>
    <form class="inline" onSubmit=${addUrl}>
      <label for="doc-url">Add a web page</label>
      <input id="doc-url" name="url" type="url" required placeholder="https://example.com/faq" />
      <button type="submit">Add</button>
    </form>
    <p class="note" role="status">${note}</p>
    <table>
      <caption class="sr-only">Documents of ${folder.name}</caption>
      <thead><tr><th scope="col">Document</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>
        ${folder.documents.map(
          (d) => html`<tr key=${d.id} class="doc">
            <td>
              ${d.sourceUrl ? html`<a href=${d.sourceUrl} target="_blank" rel="noopener noreferrer">${d.title}</a>` : d.title}
              <span class="muted"> ${d.format}${d.status === "ready" ? ` · ${d.passages} passage${d.passages === 1 ? "" : "s"}` : ""}</span>
              ${d.error && html`<div class="error">${d.error}</div>`}
            </td>
            <td><span class=${`badge doc-${d.status}`}>${d.status}</span></td>
            <td class="actions-cell">
              ${d.sourceUrl && html`<button type="button" class="quiet" aria-label=${`Re-sync ${d.title}`} onClick=${() => resync(d)}>Re-sync</button>`}
              ${admin && html`<button type="button" class="quiet" aria-label=${`Delete ${d.title}`} onClick=${() => remove(d)}>Delete</button>`}
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${folder.documents.length === 0 && html`<p class="hint">No documents yet.</p>`}
    <${TryIt} folder=${folder} />
  </div>`;
}

/** A question, and the passages the search finds for it: what an assistant reading these folders gets. */
function TryIt({ folder }) {
  const [found, setFound] = useState(null);
  const [error, setError] = useState(null);
  const ask = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      const scope = f.get("scope") === "folder" ? { folderIds: [folder.id] } : {};
      setFound((await api("/api/knowledge/search", { body: { query: f.get("question"), ...scope } })).passages);
      setError(null);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<section class="try" aria-labelledby="try-title">
    <h2 id="try-title">Try it</h2>
    <form class="inline" onSubmit=${ask}>
      <label for="try-question">Question</label>
      <input id="try-question" name="question" required maxlength="2000" />
      <label for="try-scope" class="sr-only">Search in</label>
      <select id="try-scope" name="scope">
        <option value="folder">In ${folder.name}</option>
        <option value="all">In every folder</option>
      </select>
      <button type="submit">Search</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div role="status">
      ${found?.length === 0 && html`<p class="hint">No passage answers that: an assistant would say it does not know.</p>`}
      ${found?.length > 0 && html`<p class="sr-only">${found.length} passages found</p>`}
    </div>
    <ol class="passages">
      ${found?.map(
        (p) => html`<li key=${`${p.documentId}${p.content.slice(0, 20)}`} class="passage">
          <p class="meta">${p.documentTitle}${p.heading ? ` › ${p.heading}` : ""}${p.page ? ` · page ${p.page}` : ""}</p>
          <p>${p.content}</p>
        </li>`,
      )}
    </ol>
  </section>`;
}
