/* Cooperation Assistant: the website help widget (docs/widget.md). Embed with
 *   <script src="https://assistant.example.org/widget.js" data-api="https://assistant.example.org" data-lang="ru" defer></script>
 * Server strings only ever become text; links go only to the server's source viewer; no credentials
 * are sent (always a visitor); a shadow root keeps the host page's CSS out and ours in.
 */
(() => {
"use strict";
const TAG = "coop-assistant";
const MAX_QUESTION = 2000;
const KEPT_MESSAGES = 40;
const SID = /^[A-Za-z0-9_-]{1,64}$/;
const AID = /^[0-9a-f]{32}$/;
const SVG = "http://www.w3.org/2000/svg";
const ICON = {
  chat: "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM6 9h12v2H6zm0-4h12v2H6zm0 8h8v2H6z",
  close: "M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4l5.6 5.6L5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6z",
  send: "M2 21 23 12 2 3v7l15 2-15 2z",
  reset: "M17.65 6.35A8 8 0 1 0 19.73 14h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4z",
  up: "M1 21h4V9H1zm22-11a2 2 0 0 0-2-2h-6.3l1-4.9c0-.4-.2-.8-.4-1.1L14.2 1 7.6 7.6A2 2 0 0 0 7 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7c.1-.3.2-.5.2-.8z",
};

const TEXT = {
  en: {
    open: "Ask the assistant", title: "Cooperation assistant", close: "Close", reset: "New conversation",
    sub: "Answers from the institute's documents, with sources", log: "Conversation",
    hello: "Hello! Ask me about the institute's international partners, agreements, programmes and " +
      "contacts. I answer from its documents and show the sources.",
    try: "For example:",
    starters: ["Which agreements expire this year?", "Whom do I contact about an internship?",
      "Do you cooperate with Vietnam?", "What does the institute do with the WHO?"],
    label: "Your question", placeholder: "Ask about partners, agreements…", send: "Send",
    hint: "Enter sends, Shift+Enter starts a new line.", you: "You", bot: "Assistant",
    thinking: "Searching the documents…", notFound: "Not in the documents", sources: "Sources",
    source: "Source", newTab: "(opens in a new tab)", up: "Helpful", down: "Not helpful",
    thanks: "Thank you for the feedback.", fbFailed: "The feedback could not be sent. Please try again.",
    offline: "Cannot reach the assistant. Check your connection, or try again later.",
    busy: "Too many questions at once. Please wait {n} s and try again.",
    starting: "The assistant is starting up. Please try again in {n} s.",
    wait: "You can ask again in {n} s.", tooLong: "The question is too long: keep it under 2000 characters.",
    invalid: "The question could not be accepted. Please rephrase it.",
    failed: "Something went wrong on the server (error {n}). Please try again.",
    cut: "The answer was interrupted.", stopped: "Stopped.", retry: "Try again",
  },
  ru: {
    open: "Задать вопрос", title: "Помощник по сотрудничеству", close: "Закрыть", reset: "Новый разговор",
    sub: "Ответы по документам института, с источниками", log: "Разговор",
    hello: "Здравствуйте! Спросите о зарубежных партнёрах, соглашениях, программах и контактах " +
      "института. Я отвечаю по его документам и показываю источники.",
    try: "Например:",
    starters: ["Какие соглашения истекают в этом году?", "К кому обратиться по поводу стажировки?",
      "Вы сотрудничаете с Вьетнамом?", "Что институт делает совместно с ВОЗ?"],
    label: "Ваш вопрос", placeholder: "Спросите о партнёрах, договорах…", send: "Отправить",
    hint: "Enter отправляет, Shift+Enter переносит строку.", you: "Вы", bot: "Помощник",
    thinking: "Ищу в документах…", notFound: "В документах ответа нет", sources: "Источники",
    source: "Источник", newTab: "(откроется в новой вкладке)", up: "Полезно", down: "Бесполезно",
    thanks: "Спасибо за отзыв.", fbFailed: "Отзыв не отправлен. Попробуйте ещё раз.",
    offline: "Нет связи с помощником. Проверьте подключение или попробуйте позже.",
    busy: "Слишком много вопросов. Подождите {n} с и попробуйте снова.",
    starting: "Помощник запускается. Попробуйте через {n} с.",
    wait: "Следующий вопрос — через {n} с.", tooLong: "Вопрос слишком длинный: не больше 2000 символов.",
    invalid: "Вопрос не принят. Сформулируйте его иначе.",
    failed: "Ошибка на сервере ({n}). Попробуйте ещё раз.",
    cut: "Ответ прервался.", stopped: "Остановлено.", retry: "Повторить",
  },
};

const CSS = `
:host{all:initial!important}
*{box-sizing:border-box}
.root{font:15px/1.45 system-ui,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;color:#1d1d1f;text-align:left}
button,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer;display:grid;place-items:center;border:0;border-radius:8px;background:#fff}
svg{width:22px;height:22px;fill:currentColor}
:focus-visible{outline:3px solid #111;outline-offset:2px;box-shadow:0 0 0 5px #fff}
textarea:focus-visible{outline-color:#0b4a8b;outline-offset:0;box-shadow:none}
.launcher,.panel{position:fixed;right:20px;bottom:20px;z-index:2147483000}
.launcher{display:flex;gap:8px;min-height:48px;padding:0 18px 0 14px;border-radius:24px;background:#0b4a8b;color:#fff;font-weight:600;box-shadow:0 4px 14px #0005}
.launcher:hover{background:#083a6e}
.panel{bottom:80px;width:400px;max-width:calc(100vw - 24px);height:620px;max-height:calc(100vh - 100px);display:flex;flex-direction:column;background:#fff;border:1px solid #b8c3d1;border-radius:14px;box-shadow:0 12px 40px #0005;overflow:hidden}
.panel[hidden]{display:none}
header{display:flex;gap:4px;padding:10px 8px 10px 16px;background:#0b4a8b;color:#fff}
header div{flex:1}
h2{margin:4px 0 0;font-size:16px;line-height:1.3}
header p{margin:2px 0 0;font-size:13px;color:#dfeaf6}
.icon{width:40px;height:40px;background:none}
.icon:hover{background:#fff3}
.log{flex:1;overflow-y:auto;padding:14px;background:#f3f6f9;display:flex;flex-direction:column;gap:10px}
.msg{max-width:92%;padding:10px 12px;border-radius:12px;overflow-wrap:anywhere;background:#fff;border:1px solid #d0d8e2}
.t{white-space:pre-wrap}
.u{align-self:flex-end;background:#0b4a8b;color:#fff}
.a{align-self:flex-start}
.nf{background:#fff8e8;border:1px solid #b06a00;border-left-width:5px}
.badge{display:inline-block;margin:0 0 6px;padding:2px 8px;border-radius:10px;background:#7a4700;color:#fff;font-size:12px;font-weight:700}
a{color:#0b4a8b}
.cite{font-weight:700;white-space:nowrap}
.src{margin:8px 0 0;padding:8px 0 0;border-top:1px solid #e0e6ee;list-style:none;font-size:13px}
.src li{margin:0 0 6px}
.src q,.note,.hint,.wait{color:#3f4955}
.src q{display:block;font-style:italic}
.fb{display:flex;gap:6px;align-items:center;margin-top:8px}
.fb button{width:36px;height:36px;border:1px solid #b8c3d1;color:#3f4955}
.fb button[aria-pressed=true]{background:#0b4a8b;color:#fff}
.fb svg{width:18px;height:18px}
.note,.hint{font-size:12px}
.err{margin:6px 0 0;color:#a0001a;font-weight:600}
.retry,.starters button{margin-top:6px;padding:6px 12px;border:1px solid #0b4a8b;color:#0b4a8b;font-weight:600}
.wait{font-style:italic;animation:pulse 1.6s ease-in-out infinite}
@keyframes pulse{50%{opacity:.6}}
.starters p{margin:4px 0 0;font-weight:600}
.starters ul{list-style:none;margin:0;padding:0}
.starters button{width:100%;place-items:start;text-align:left;border-radius:18px;font-weight:400}
.retry:hover,.starters button:hover{background:#e8f0fa}
form{display:flex;gap:8px;align-items:flex-end;padding:10px 10px 4px;border-top:1px solid #d0d8e2}
textarea{flex:1;min-width:0;height:44px;max-height:120px;resize:none;padding:10px 12px;border:1px solid #6f7d8f;border-radius:10px;background:#fff;line-height:1.35}
.send{width:44px;height:44px;border-radius:10px;background:#0b4a8b;color:#fff}
.send:disabled{background:#6f7d8f;cursor:not-allowed}
.hint{margin:0;padding:2px 12px 8px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.panel{inset:0;width:auto;height:auto;max-width:none;max-height:none;border:0;border-radius:0}.launcher{right:12px;bottom:12px}}
@media (prefers-reduced-motion:reduce){.wait{animation:none}}
`;

/** An element with attributes (on* keys become listeners) and children (strings become text). */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  el.append(...kids.filter((kid) => kid != null && kid !== false));
  return el;
}

function icon(d, flip) {
  const svg = document.createElementNS(SVG, "svg"), path = document.createElementNS(SVG, "path");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  path.setAttribute("d", d);
  if (flip) path.setAttribute("transform", "rotate(180 12 12)");
  svg.append(path);
  return svg;
}

const fmt = (text, n) => text.replace("{n}", String(n));
const str = (v) => (typeof v === "string" ? v : "");

/** Citations reduced to the fields shown; anything malformed is dropped. */
const cites = (list) => (Array.isArray(list) ? list : [])
  .filter((c) => c && Number.isInteger(c.n) && typeof c.url === "string")
  .map((c) => ({ n: c.n, url: c.url, title: str(c.title), section: str(c.section), source: str(c.source), quote: str(c.quote) }));

/** Reads server-sent events from a fetch() body, calling on(event, data) for each. */
async function readEvents(body, on) {
  const reader = body.getReader(), decoder = new TextDecoder();
  let buf = "", event = "", data = [];
  const line = (text) => {
    const colon = text.indexOf(":"), field = colon < 0 ? text : text.slice(0, colon);
    if (!text && data.length) on(event || "message", data.join("\n"));
    if (!text) (event = ""), (data = []);
    else if (field === "event" || field === "data") {
      const value = colon < 0 ? "" : text.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else data.push(value);
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
    const held = !done && buf.endsWith("\r") ? "\r" : ""; // maybe half of "\r\n"
    const lines = (held ? buf.slice(0, -1) : buf).split(/\r\n|\r|\n/);
    buf = lines.pop() + held;
    lines.forEach(line);
    if (done) return buf ? [buf, ""].forEach(line) : line("");
  }
}

/** The assistant's base URL (origin + optional path); only http(s). */
function apiBase(value) {
  try {
    const url = new URL(value, document.baseURI);
    if (/^https?:$/.test(url.protocol)) return { origin: url.origin, path: url.pathname.replace(/\/+$/, "") };
  } catch (_) { /* not a URL: same origin */ }
  return { origin: location.origin, path: "" };
}

class CoopAssistant extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return;
    const base = apiBase(this.getAttribute("api") || location.origin);
    this.origin = base.origin;
    this.api = base.origin + base.path;
    const lang = /^ru/i.test(this.getAttribute("lang") || document.documentElement.lang) ? "ru" : "en";
    this.setAttribute("lang", lang);
    this.T = TEXT[lang];
    this.key = `coop-assistant:${this.api}`;
    this.views = new Map();
    this.state = this.load();
    this.build();
    if (this.state.open) this.toggle(true, false);
  }

  disconnectedCallback() { this.abort(); }

  build() {
    const T = this.T, root = this.attachShadow({ mode: "open" });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet]; // not subject to the host page's style-src
    } catch (_) {
      root.append(h("style", {}, CSS));
    }
    const button = (label, d, onclick) =>
      h("button", { type: "button", class: "icon", "aria-label": label, title: label, onclick }, icon(d));
    this.launcher = h("button", {
      type: "button", class: "launcher", "aria-haspopup": "dialog", "aria-expanded": "false",
      "aria-controls": "panel", onclick: () => this.toggle(!this.isOpen, true),
    }, icon(ICON.chat), h("span", {}, T.open));
    this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0" });
    this.input = h("textarea", {
      id: "q", rows: "1", maxlength: String(MAX_QUESTION), placeholder: T.placeholder,
      "aria-describedby": "hint", enterkeyhint: "send",
      oninput: () => this.grow(),
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) (e.preventDefault(), this.submit());
      },
    });
    this.sendButton = h("button", { type: "submit", class: "send", "aria-label": T.send, title: T.send }, icon(ICON.send));
    this.hint = h("p", { id: "hint", class: "hint" }, T.hint);
    this.panel = h("div", {
      id: "panel", class: "panel", role: "dialog",
      "aria-labelledby": "title", "aria-describedby": "sub", hidden: true,
    },
    h("header", {},
      h("div", {}, h("h2", { id: "title" }, T.title), h("p", { id: "sub" }, T.sub)),
      button(T.reset, ICON.reset, () => this.reset()),
      button(T.close, ICON.close, () => this.toggle(false, true))),
    this.log,
    h("form", { onsubmit: (e) => (e.preventDefault(), this.submit()) },
      h("label", { for: "q", class: "sr" }, T.label), this.input, this.sendButton),
    this.hint);
    root.append(h("div", {
      class: "root",
      onkeydown: (e) => {
        if (e.key === "Escape" && this.isOpen) (e.preventDefault(), this.toggle(false, true));
      },
    }, this.launcher, this.panel));
    this.renderAll();
  }

  /** Opens or closes the panel; closing stops a running answer. */
  toggle(open, moveFocus) {
    this.isOpen = this.state.open = open;
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.save();
    if (!open) this.abort();
    if (open) this.scrollEnd(true);
    if (moveFocus) (open ? this.input : this.launcher).focus();
  }

  renderAll() {
    const T = this.T;
    this.log.textContent = "";
    this.views.clear();
    this.log.append(h("div", { class: "msg a" }, h("div", { class: "t" }, T.hello)));
    this.starters = this.state.msgs.length ? null : h("div", { class: "starters" },
      h("p", { id: "try" }, T.try),
      h("ul", { "aria-labelledby": "try" }, ...T.starters.map((q) => h("li", {},
        h("button", { type: "button", onclick: () => (this.ask(q), this.input.focus()) }, q)))));
    if (this.starters) this.log.append(this.starters);
    for (const m of this.state.msgs) this.show(m);
  }

  show(m) {
    const el = h("div", {});
    this.views.set(m, el);
    this.log.append(el);
    this.paint(m);
  }

  /** (Re)draws one message from its state; every server string goes in as text. */
  paint(m) {
    const el = this.views.get(m), T = this.T;
    if (!el) return;
    el.textContent = "";
    if (m.r === "u") {
      el.className = "msg u";
      return el.append(h("span", { class: "sr" }, `${T.you}: `), h("div", { class: "t" }, m.t));
    }
    el.className = m.f === false ? "msg a nf" : "msg a";
    el.setAttribute("aria-busy", String(!!m.pending));
    el.append(h("span", { class: "sr" }, `${T.bot}: `));
    if (m.f === false) el.append(h("p", { class: "badge" }, T.notFound));
    const text = h("div", { class: "t", lang: m.lang || false });
    el.append(text);
    this.fill(text, m);
    if (m.c.length) el.append(h("ul", { class: "src", "aria-label": T.sources }, ...m.c.map((c) => this.sourceItem(c))));
    if (m.err) {
      el.append(h("p", { class: "err", role: "alert" }, m.err));
      if (m.q) el.append(h("button", { type: "button", class: "retry", onclick: () => this.retry(m) }, T.retry));
    }
    if (m.done && m.id) el.append(this.feedback(m));
  }

  /** The answer text with its [n] markers turned into links to the source viewer. */
  fill(el, m) {
    el.textContent = "";
    const byN = new Map(m.c.map((c) => [c.n, c])), marker = /\[(\d{1,3})\]/g;
    let last = 0;
    for (let found; (found = marker.exec(m.t)); ) {
      const c = byN.get(Number(found[1]));
      const link = c && this.link(c, `[${c.n}]`, "cite");
      if (!link) continue;
      el.append(m.t.slice(last, found.index), link);
      last = marker.lastIndex;
    }
    el.append(m.t.slice(last));
    if (m.pending && !m.t) el.append(h("span", { class: "wait" }, this.T.thinking));
  }

  link(c, text, cls) {
    const href = this.href(c.url), T = this.T;
    return href && h("a", {
      href, class: cls, target: "_blank", rel: "noopener noreferrer",
      "aria-label": `${T.source} ${c.n}: ${c.title || c.source} ${T.newTab}`,
    }, text);
  }

  /** Only the assistant's own source viewer is ever linked. */
  href(url) {
    if (!url.startsWith("/sources/")) return null;
    try {
      const u = new URL(this.api + url);
      const ok = u.origin === this.origin && u.pathname.startsWith(`${this.api.slice(this.origin.length)}/sources/`);
      return ok ? u.href : null;
    } catch (_) {
      return null;
    }
  }

  sourceItem(c) {
    const name = c.title || c.source;
    const label = `[${c.n}] ${c.section && c.section !== name ? `${name} — ${c.section}` : name}`;
    const quote = c.quote.length > 220 ? `${c.quote.slice(0, 220)}…` : c.quote;
    return h("li", {}, this.link(c, label, "") || label, quote && h("q", {}, quote));
  }

  feedback(m) {
    const T = this.T, note = h("span", { class: "note", role: "status" }, m.rate ? T.thanks : "");
    const buttons = ["up", "down"].map((rating) => h("button", {
      type: "button", "aria-label": T[rating], "aria-pressed": String(m.rate === rating),
      disabled: !!m.rate, onclick: () => this.rate(m, rating, buttons, note),
    }, icon(ICON.up, rating === "down")));
    return h("div", { class: "fb" }, ...buttons, note);
  }

  async rate(m, rating, buttons, note) {
    buttons.forEach((b) => (b.disabled = true));
    const ok = await fetch(`${this.api}/v1/feedback`, {
      method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ answer_id: m.id, rating }),
    }).then((res) => res.ok, () => false);
    if (ok) (m.rate = rating), this.save();
    buttons.forEach((b, i) => {
      b.disabled = ok;
      b.setAttribute("aria-pressed", String(ok && i === (rating === "up" ? 0 : 1)));
    });
    note.textContent = ok ? this.T.thanks : this.T.fbFailed;
  }

  submit() {
    const q = this.input.value.trim();
    if (!q || this.cooling) return;
    if (q.length > MAX_QUESTION) return (this.hint.textContent = this.T.tooLong);
    this.input.value = "";
    this.grow();
    this.ask(q);
  }

  /** Asks a question and streams the answer into the log; a new question stops a running one. */
  async ask(q) {
    const T = this.T;
    if (this.cooling) return;
    this.abort();
    const ctl = (this.ctl = new AbortController());
    if (this.starters) this.starters.remove();
    this.push({ r: "u", t: q });
    const m = this.push({ r: "a", t: "", c: [], q, pending: true });
    this.scrollEnd(true);
    try {
      const res = await fetch(`${this.api}/v1/ask/stream`, {
        method: "POST", mode: "cors", credentials: "omit", cache: "no-store", signal: ctl.signal,
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ question: q, session_id: this.state.sid }),
      });
      if (!res.ok || !res.body) await this.refused(m, res);
      else await readEvents(res.body, (event, data) => this.onEvent(m, event, data));
      if (!m.done && !m.err) m.err = T.cut;
    } catch (_) {
      m.err = ctl.signal.aborted ? T.stopped : T.offline; // server down, or origin not allowed
    }
    m.pending = false;
    if (this.ctl === ctl) this.ctl = null;
    this.paint(m);
    this.save();
    this.scrollEnd(false);
  }

  onEvent(m, event, raw) {
    let d;
    try {
      d = JSON.parse(raw);
    } catch (_) {
      return;
    }
    if (!d || typeof d !== "object") return;
    if (event === "delta" && typeof d.text === "string") {
      m.t += d.text;
      const text = this.views.get(m)?.querySelector(".t");
      if (text) this.fill(text, m);
      return this.scrollEnd(false);
    }
    if (event === "start" || event === "done") {
      if (SID.test(str(d.session_id))) this.state.sid = d.session_id;
      if (AID.test(str(d.answer_id))) m.id = d.answer_id;
      m.lang = /^(ru|en)$/.test(d.language) ? d.language : "";
    }
    if (event === "done") {
      if (typeof d.answer === "string") m.t = d.answer;
      m.done = true;
      m.pending = false;
    }
    if ((event === "citations" || event === "done") && Array.isArray(d.citations)) {
      m.c = cites(d.citations);
      m.f = d.found === false ? false : undefined;
    }
    if (event === "error") m.err = str(d.detail) || fmt(this.T.failed, Number(d.status) || 500);
    if (event !== "start") this.paint(m);
  }

  /** A refusal before streaming: says what happened and what to do. */
  async refused(m, res) {
    const T = this.T, status = res.status;
    const detail = await res.json().then((b) => str(b && b.detail), () => "");
    const wait = Math.min(parseInt(res.headers.get("Retry-After"), 10) || 0, 3600);
    if (status === 429 || status === 503) {
      m.err = fmt(status === 429 ? T.busy : T.starting, wait || 10);
      this.cool(wait || 10);
    } else if (status === 413) m.err = T.tooLong;
    else if (status === 422) m.err = T.invalid;
    else m.err = `${fmt(T.failed, status)} ${detail}`.trim();
  }

  /** Blocks sending for `seconds`, counting down in the hint under the input. */
  cool(seconds) {
    clearInterval(this.timer);
    const until = Date.now() + seconds * 1000;
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      this.cooling = this.sendButton.disabled = left > 0;
      this.hint.textContent = left > 0 ? fmt(this.T.wait, left) : this.T.hint;
      if (left <= 0) clearInterval(this.timer);
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  /** Drops a failed exchange and asks its question again. */
  retry(m) {
    if (this.cooling) return;
    const msgs = this.state.msgs, i = msgs.indexOf(m);
    const from = i > 0 && msgs[i - 1].r === "u" ? i - 1 : i;
    for (const old of msgs.splice(from, i - from + 1)) this.views.get(old)?.remove();
    this.ask(m.q);
    this.input.focus();
  }

  reset() {
    this.abort();
    this.state.msgs = [];
    this.state.sid = null;
    this.save();
    this.renderAll();
    this.input.focus();
  }

  abort() { this.ctl?.abort(); this.ctl = null; }

  push(m) {
    this.state.msgs.push(m);
    this.show(m);
    this.save();
    return m;
  }

  grow() {
    const style = this.input.style;
    style.height = "";
    if (this.input.value) style.height = `${Math.min(this.input.scrollHeight + 2, 120)}px`;
  }

  scrollEnd(force) {
    const log = this.log;
    if (force || log.scrollHeight - log.scrollTop - log.clientHeight < 120) log.scrollTop = log.scrollHeight;
  }

  /** The tab's conversation from sessionStorage (only ever rendered as text, like server data). */
  load() {
    let s = null;
    try {
      s = JSON.parse(sessionStorage.getItem(this.key));
    } catch (_) {
      // storage disabled or unreadable: a new conversation
    }
    const msgs = (Array.isArray(s?.msgs) ? s.msgs : []).filter((m) => /^[ua]$/.test(m?.r) && typeof m.t === "string");
    for (const m of msgs) {
      m.c = cites(m.c);
      m.err = str(m.err) || (m.r === "a" && !m.done ? this.T.cut : "");
      if (!AID.test(str(m.id))) delete m.id;
    }
    return { sid: SID.test(str(s?.sid)) ? s.sid : null, open: s?.open === true, msgs };
  }

  save() {
    const s = { sid: this.state.sid, open: this.state.open, msgs: this.state.msgs.slice(-KEPT_MESSAGES) };
    try {
      sessionStorage.setItem(this.key, JSON.stringify(s, (k, v) => (k === "pending" ? undefined : v)));
    } catch (_) {
      // storage full or disabled: the conversation lasts as long as the page
    }
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, CoopAssistant);

/** The script tag adds one <coop-assistant> to the page, configured by its data-* attributes. */
const script = document.currentScript;
const boot = () => {
  if (document.querySelector(TAG)) return;
  const el = document.createElement(TAG);
  el.setAttribute("api", script?.getAttribute("data-api") || (script?.src ? new URL(script.src).origin : location.origin));
  const lang = script?.getAttribute("data-lang");
  if (lang) el.setAttribute("lang", lang);
  document.body.append(el);
};
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
})();
