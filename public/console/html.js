import htm from "htm";
import { h } from "preact";

/** JSX-like templates without a build step: html`<p>${text}</p>`. */
export const html = htm.bind(h);

/** "3 min", "2 h 5 min": how long ago `iso` was, for waiting times. */
export function since(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60_000));
  if (minutes < 1) return "< 1 min";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
