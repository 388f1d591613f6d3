import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { html } from "./html.js";

// Insights: how the assistant did over a period (UTC days): turns by day and channel, response times, how
// often a person was asked for, the questions the knowledge could not answer, and the visitors' thumbs, which
// can be downloaded as CSV.

const DAY_MS = 86_400_000;
const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);
const CHANNELS = { ws: "Widget", whatsapp: "WhatsApp", sms: "SMS", api: "API" };
const channelName = (c) => CHANNELS[c] ?? c;
const percent = (rate) => (rate === null ? "–" : `${Math.round(rate * 100)} %`);
const seconds = (ms) => (ms === null ? "–" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export function Insights() {
  const [period, setPeriod] = useState({ from: dayOf(Date.now() - 29 * DAY_MS), to: dayOf(Date.now()) });
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const query = new URLSearchParams(period).toString();
  useEffect(() => {
    setError(null);
    api(`/api/console/insights?${query}`).then(setData, (e) => setError(e.message));
  }, [query]);
  const change = (e) => setPeriod({ ...period, [e.target.name]: e.target.value });

  return html`<section class="insights" aria-labelledby="insights-title">
    <h1 id="insights-title">Insights</h1>
    <form class="period" onSubmit=${(e) => e.preventDefault()}>
      <label for="insights-from">From</label>
      <input id="insights-from" name="from" type="date" value=${period.from} max=${period.to} onChange=${change} required />
      <label for="insights-to">To</label>
      <input id="insights-to" name="to" type="date" value=${period.to} min=${period.from} onChange=${change} required />
      <a class="download" href=${`/api/console/feedback.csv?${query}`} download>Download feedback (CSV)</a>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${data && html`<${Figures} data=${data} />`}
  </section>`;
}

function Figures({ data }) {
  const { responseMs, handoff, feedback } = data;
  return html`
    <dl class="figures">
      <div><dt>Turns</dt><dd>${data.turns}</dd></div>
      <div><dt>Response time, median</dt><dd>${seconds(responseMs.p50)}</dd></div>
      <div><dt>Response time, 95th percentile</dt><dd>${seconds(responseMs.p95)}</dd></div>
      <div><dt>Handed to a person</dt><dd>${percent(handoff.rate)}</dd><dd class="of">${handoff.handedOff} of ${handoff.conversations} conversations</dd></div>
      <div><dt>Thumbs up</dt><dd>${percent(feedback.upRate)}</dd><dd class="of">${feedback.up} up, ${feedback.down} down</dd></div>
    </dl>
    <h2>Turns per day</h2>
    <${TurnsChart} rows=${data.turnsByDay} from=${data.from} to=${data.to} />
    <h2>Questions the knowledge could not answer</h2>
    ${
      data.unanswered.length
        ? html`<ol class="unanswered">
            ${data.unanswered.map(
              (u) => html`<li key=${u.question}><span class="question">${u.question}</span> <span class="times">${u.count} ×</span></li>`,
            )}
          </ol>`
        : html`<p class="hint">None in this period.</p>`
    }
  `;
}

/** A bar a day, stacked by channel, drawn as SVG; the same numbers as a table for screen readers. */
function TurnsChart({ rows, from, to }) {
  const days = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) days.push(dayOf(t));
  const channels = [...new Set(rows.map((r) => r.channel))].sort();
  const count = (day, channel) => rows.find((r) => r.day === day && r.channel === channel)?.turns ?? 0;
  const totals = days.map((d) => channels.reduce((sum, c) => sum + count(d, c), 0));
  const most = Math.max(0, ...totals);
  const max = Math.max(1, most);
  const [width, height, gap] = [days.length * 10, 100, 2];
  const bars = days.flatMap((d, i) => {
    let y = height;
    return channels.map((c, k) => {
      const h = (count(d, c) / max) * height;
      y -= h;
      return h ? html`<rect key=${`${d}-${c}`} class=${`c${k % 4}`} x=${i * 10 + gap / 2} y=${y} width=${10 - gap} height=${h} />` : null;
    });
  });
  const summary = `Turns per day from ${from} to ${to}: ${totals.reduce((a, b) => a + b, 0)} in all, at most ${most} a day`;
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label=${summary}>${bars}</svg>
    <figcaption>
      <span class="axis">${from}</span>
      <ul class="legend">
        ${channels.map((c, k) => html`<li key=${c}><span class=${`swatch c${k % 4}`} aria-hidden="true"></span>${channelName(c)}</li>`)}
      </ul>
      <span class="axis">${to}</span>
    </figcaption>
    <table class="sr-only">
      <caption>Turns per day and channel</caption>
      <thead><tr><th scope="col">Day</th>${channels.map((c) => html`<th scope="col">${channelName(c)}</th>`)}</tr></thead>
      <tbody>
        ${days.filter((_, i) => totals[i]).map((d) => html`<tr><th scope="row">${d}</th>${channels.map((c) => html`<td>${count(d, c)}</td>`)}</tr>`)}
      </tbody>
    </table>
  </figure>`;
}
