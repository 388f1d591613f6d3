import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { html } from "./html.js";

// The org's operators, for admins: who may sign in, and with which role.

export function Operators({ me }) {
  const [operators, setOperators] = useState([]);
  const [error, setError] = useState(null);
  const load = () =>
    api("/api/console/operators").then(
      (b) => setOperators(b.operators),
      (e) => setError(e.message),
    );
  useEffect(() => {
    load();
  }, []);

  const add = async (e) => {
    e.preventDefault();
    const form = e.target;
    const f = new FormData(form);
    try {
      await api("/api/console/operators", { body: { email: f.get("email"), password: f.get("password"), role: f.get("role") } });
      form.reset();
      setError(null);
      load();
    } catch (err) {
      setError(err.message);
    }
  };
  const remove = async (o) => {
    if (!confirm(`Remove ${o.email}? Their sessions end at once.`)) return;
    await api(`/api/console/operators/${o.id}`, { method: "DELETE" }).then(load, (err) => setError(err.message));
  };

  return html`<section class="operators" aria-labelledby="operators-title">
    <h1 id="operators-title">Operators</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <table>
      <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>
        ${operators.map(
          (o) => html`<tr key=${o.id}>
            <td>${o.email}</td><td>${o.role}</td>
            <td>${o.id !== me.id && html`<button type="button" class="quiet" onClick=${() => remove(o)} aria-label=${`Remove ${o.email}`}>Remove</button>`}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <h2>Add an operator</h2>
    <form class="add" onSubmit=${add}>
      <label for="new-email">Email</label>
      <input id="new-email" name="email" type="email" required autocomplete="off" />
      <label for="new-password">Password (10 characters or more)</label>
      <input id="new-password" name="password" type="password" minlength="10" required autocomplete="new-password" />
      <label for="new-role">Role</label>
      <select id="new-role" name="role">
        <option value="agent">Agent: works the inbox</option>
        <option value="admin">Admin: also manages operators</option>
      </select>
      <button type="submit">Add</button>
    </form>
  </section>`;
}
