// The hub's chat widget. Embed it with one tag:
//   <script src="https://HUB/widget.js" async></script>
// Options, as data- attributes: data-token (an end-user token; anonymous without), data-assistant,
// data-org (for anonymous visitors of an org other than the default), data-title, data-open.
// window.HubChat.setToken(token) switches to a (new) token, e.g. after the host page's login.
(() => {
  const script = document.currentScript;
  const options = script.dataset;
  const hub = new URL(script.src, location.href);
  let token = options.token || null;
  let ws = null;
  let retries = 0;
  let retryTimer = null;
  // An operator's typing shows for a few seconds after their last keystroke's frame: they may stop unsent.
  const OPERATOR_TYPING_MS = 6000;
  let typingTimer = null;
  // The last message this page showed: a reconnect resumes after it; a new page load gets the recent history.
  let lastSeen = null;
  const shown = new Set();
  const streaming = new Map();
  // Each bot bubble's reply as it came (Markdown, and its citations), to render again once the renderer is in.
  const replies = new Map();
  // Each answer's thumbs, by message id, and the rating the hub stored for it (pressed once it acknowledged).
  const thumbs = new Map();
  const ratings = new Map();
  // Replies are Markdown, rendered safely by widget-render.mjs (a module: it leaves no globals on the host
  // page). Until it has loaded, or if it cannot, they show as text.
  let renderMarkdown = null;
  import(new URL("widget-render.mjs", hub).href).then(
    (module) => {
      renderMarkdown = module.renderMarkdown;
      for (const [bubble, reply] of replies) showReply(bubble, reply);
    },
    () => {},
  );

  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("widget.css", hub).href;
  document.head.append(link);

  // Drawn, not an emoji: a browser without an emoji font (Chromium on Linux, often) shows a missing glyph.
  const CHAT_ICON = `<svg viewBox="0 0 24 24" width="28" height="28" fill="currentColor" aria-hidden="true" focusable="false">
    <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2h-9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>`;
  const root = document.createElement("div");
  root.className = "hubchat";
  root.innerHTML = `<button class="hubchat-bubble" aria-label="Open chat">${CHAT_ICON}</button>
    <section class="hubchat-panel" hidden>
      <header><span class="hubchat-title"></span><button class="hubchat-close" aria-label="Close chat">×</button></header>
      <div class="hubchat-state" hidden></div>
      <ol class="hubchat-log"></ol>
      <div class="hubchat-typing" hidden><span></span><span></span><span></span></div>
      <div class="hubchat-chips"></div>
      <form><input name="text" placeholder="Type a message" autocomplete="off" disabled><button disabled>Send</button></form>
    </section>`;
  const $ = (selector) => root.querySelector(selector);
  const [panel, log, state, typing, chips, form] = [
    ".hubchat-panel",
    ".hubchat-log",
    ".hubchat-state",
    ".hubchat-typing",
    ".hubchat-chips",
    "form",
  ].map($);
  $(".hubchat-title").textContent = options.title || "Chat with us";
  $(".hubchat-bubble").onclick = () => toggle(true);
  $(".hubchat-close").onclick = () => toggle(false);

  function toggle(open) {
    panel.hidden = !open;
    root.classList.toggle("hubchat-open", open);
    $(".hubchat-bubble").hidden = open;
    if (open) form.text.focus();
  }

  // Where this visitor's session is kept, so a reload or a reconnect resumes it.
  const storageKey = () =>
    `hubchat:${hub.host}:${token ? JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub : "anonymous"}`;
  const saved = () => JSON.parse(localStorage.getItem(storageKey()) || "{}");
  const save = (change) => localStorage.setItem(storageKey(), JSON.stringify({ ...saved(), ...change }));

  function connect() {
    const query = new URLSearchParams({ stream: "1" });
    const { session } = saved();
    if (token) query.set("token", token);
    if (options.assistant) query.set("assistant_id", options.assistant);
    if (options.org) query.set("org", options.org);
    if (session) query.set("session_id", session);
    if (session && lastSeen) query.set("last_message_id", lastSeen);
    ws = new WebSocket(`${hub.protocol === "https:" ? "wss" : "ws"}://${hub.host}/ws?${query}`);
    ws.onmessage = (event) => receive(JSON.parse(event.data));
    ws.onclose = (event) => {
      setOnline(false, event.code === 4401 ? "Please sign in again." : "Connection lost. Reconnecting…");
      // A session that is gone or not this visitor's: start a new one rather than retry it forever.
      if (event.code === 4403 || event.code === 4404) localStorage.removeItem(storageKey());
      if (event.code === 4401) return;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, Math.min(500 * 2 ** retries++, 10_000));
    };
  }

  function receive(frame) {
    if (frame.type === "status" && frame.status === "connected") {
      if (frame.session_id !== saved().session) reset();
      save({ session: frame.session_id });
      retries = 0;
      setOnline(true);
    } else if (frame.type === "status" && frame.status === "expired") {
      localStorage.removeItem(storageKey());
    } else if (frame.type === "message") {
      showMessage(frame);
    } else if (frame.type === "typing") {
      typing.hidden = false;
      clearTimeout(typingTimer);
      if (frame.author) typingTimer = setTimeout(() => (typing.hidden = true), OPERATOR_TYPING_MS);
    } else if (frame.type === "delta") {
      typing.hidden = true;
      const bubble = streaming.get(frame.reply_to) || addBubble("bot streaming", "");
      streaming.set(frame.reply_to, bubble);
      // Rendered whole each time: a piece alone may be half a Markdown mark.
      showReply(bubble, { content: (replies.get(bubble)?.content ?? "") + frame.content });
    } else if (frame.type === "feedback") {
      ratings.set(frame.message_id, frame.rating);
      pressThumbs(frame.message_id);
    } else if (frame.type === "suggestion") {
      chips.replaceChildren(...frame.suggestions.map(chip));
    } else if (frame.type === "error") {
      addBubble("error", frame.message);
    }
    log.scrollTop = log.scrollHeight;
  }

  function showMessage(frame) {
    if (shown.has(frame.id)) return;
    shown.add(frame.id);
    lastSeen = frame.id;
    if (frame.sender === "user") chips.replaceChildren();
    if (frame.sender !== "bot") return addBubble("user", frame.content);
    typing.hidden = true;
    // The streamed text is replaced by the final message: on a resume the stream may have started elsewhere.
    const bubble = streaming.get(frame.reply_to) || addBubble("bot", "");
    streaming.delete(frame.reply_to);
    bubble.className = `hubchat-bot${frame.failed ? " hubchat-failed" : ""}`;
    // A person of the business wrote it (an operator): their name heads it.
    // The assistant's own answers get thumbs; an operator's message, or the fallback of a failed turn, does not.
    const rateable = !frame.author && !frame.failed;
    showReply(bubble, { content: frame.content, citations: frame.citations, author: frame.author?.name, id: rateable ? frame.id : null });
  }

  function showReply(bubble, reply) {
    replies.set(bubble, reply);
    bubble.classList.toggle("hubchat-markdown", renderMarkdown !== null);
    if (renderMarkdown) bubble.replaceChildren(renderMarkdown(reply.content));
    else bubble.textContent = reply.content;
    if (reply.citations?.length) bubble.append(sourceList(reply.citations));
    if (reply.author)
      bubble.prepend(Object.assign(document.createElement("span"), { className: "hubchat-author", textContent: reply.author }));
    if (reply.id) bubble.append(thumbsFor(reply.id));
  }

  const THUMB = `<svg viewBox="0 0 24 24" width="16" height="16" fill="currentColor" aria-hidden="true" focusable="false">
    <path d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3a1.5 1.5 0 0 0-.5-1.1L13.2 1 6.6 7.6A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"/></svg>`;

  // Thumbs up and down under an answer: toggle buttons, pressed for the rating the hub stored.
  function thumbsFor(id) {
    const group = thumbs.get(id) || document.createElement("div");
    if (!thumbs.has(id)) {
      group.className = "hubchat-thumbs";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Was this answer helpful?");
      for (const [rating, label] of [
        ["up", "Helpful"],
        ["down", "Not helpful"],
      ]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = `hubchat-thumb hubchat-thumb-${rating}`;
        button.dataset.rating = rating;
        button.setAttribute("aria-label", label);
        button.title = label;
        button.innerHTML = THUMB;
        button.onclick = () => rate(id, rating);
        group.append(button);
      }
      thumbs.set(id, group);
    }
    pressThumbs(id);
    return group;
  }

  function pressThumbs(id) {
    for (const button of thumbs.get(id)?.children ?? []) {
      button.setAttribute("aria-pressed", String(ratings.get(id) === button.dataset.rating));
    }
  }

  function rate(id, rating) {
    if (ws?.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "feedback", message_id: id, rating, session_id: saved().session }));
  }

  // The passages a reply drew on: each names its document (and heading or page), a link where it has a web address.
  function sourceList(citations) {
    const list = document.createElement("ul");
    list.className = "hubchat-sources";
    for (const { title, heading, page, url } of citations) {
      const label = [title, heading].filter(Boolean).join(" › ") + (page ? `, p. ${page}` : "");
      const item = document.createElement("li");
      const target = webAddress(url);
      if (target) {
        const a = Object.assign(document.createElement("a"), { href: target, target: "_blank", rel: "noopener noreferrer" });
        a.textContent = label || target;
        item.append(a);
      } else item.textContent = label;
      if (item.textContent) list.append(item);
    }
    return list;
  }

  function webAddress(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch {
      return null;
    }
  }

  function addBubble(kind, text) {
    const item = document.createElement("li");
    item.className = kind
      .split(" ")
      .map((k) => `hubchat-${k}`)
      .join(" ");
    item.textContent = text;
    log.append(item);
    return item;
  }

  function chip(text) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "hubchat-chip";
    button.textContent = text;
    button.onclick = () => send(text);
    return button;
  }

  function reset() {
    lastSeen = null;
    shown.clear();
    streaming.clear();
    replies.clear();
    thumbs.clear();
    ratings.clear();
    log.replaceChildren();
    chips.replaceChildren();
    typing.hidden = true;
  }

  function setOnline(online, why) {
    state.hidden = online;
    state.textContent = why || "";
    root.classList.toggle("hubchat-offline", !online);
    for (const control of form.elements) control.disabled = !online;
  }

  function send(content) {
    if (!content.trim() || ws?.readyState !== WebSocket.OPEN) return;
    const id = `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    ws.send(JSON.stringify({ type: "message", id, content, session_id: saved().session }));
  }

  form.onsubmit = (event) => {
    event.preventDefault();
    send(form.text.value);
    form.text.value = "";
  };

  window.HubChat = {
    open: () => toggle(true),
    setToken(next) {
      token = next || null;
      reset();
      ws?.close();
    },
  };
  const start = () => {
    document.body.append(root);
    if (options.open === "true") toggle(true);
    connect();
  };
  if (document.body) start();
  else addEventListener("DOMContentLoaded", start);
})();
