// The labelling page: sign in, fetch the next pair, answer with the mouse or the keyboard.
"use strict";
const $ = (id) => document.getElementById(id);
// The access token comes in the URL's fragment (never sent to the server in the URL); it moves to
// sessionStorage and the fragment is cleared, so it does not stay in the address bar or the history.
const hashToken = new URLSearchParams(location.hash.slice(1)).get("token");
if (hashToken) {
  sessionStorage.setItem("token", hashToken);
  history.replaceState(null, "", location.pathname + location.search);
}
const token = sessionStorage.getItem("token") || "";
// The anti-forgery token the server put in this page: only a page it served can send it back.
const csrf = document.querySelector('meta[name="prefhouse-csrf"]').content;
let annotator = sessionStorage.getItem("annotator") || "";
let current = null;
let busy = false;

async function api(path, options = {}) {
  const headers = { "X-Prefhouse-CSRF": csrf };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = "Bearer " + token;
  const resp = await fetch(path, { ...options, headers, credentials: "same-origin" });
  let body = {};
  try {
    body = await resp.json();
  } catch {
    body = { error: resp.statusText || "unreadable reply" };
  }
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Responses and turns are untrusted text. Code and Markdown stay legible and inert: a fenced block
// (``` or ~~~) becomes <pre><code>, `inline code` a <code>, the rest plain text with its whitespace
// kept (white-space: pre-wrap); other Markdown shows as typed. Everything goes in through
// textContent or text nodes, never as HTML, so nothing in it can run.
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

function inline(text) {
  const node = el("div", "prose");
  text.split(/(`[^`\n]+`)/).forEach((part, i) => {
    if (i % 2 === 1) node.append(el("code", "inline", part.slice(1, -1)));
    else if (part) node.append(document.createTextNode(part));
  });
  return node;
}

function codeBlock(lines, lang) {
  const pre = el("pre", "code-block");
  if (lang) pre.dataset.lang = lang; // shown by the style sheet, not part of the copied text
  pre.append(el("code", "", lines.join("\n")));
  return pre;
}

function renderText(node, text) {
  node.textContent = "";
  let prose = [];
  let code = null;
  const flush = () => {
    while (prose.length && !prose[0].trim()) prose.shift(); // blank lines around a code block: its margin
    while (prose.length && !prose[prose.length - 1].trim()) prose.pop();
    if (prose.length) node.append(inline(prose.join("\n")));
    prose = [];
  };
  for (const line of String(text ?? "").split("\n")) {
    if (code) {
      const close = line.trim();
      if (close.length >= code.fence.length && close === code.fence[0].repeat(close.length)) {
        node.append(codeBlock(code.lines, code.lang));
        code = null;
      } else {
        code.lines.push(line);
      }
      continue;
    }
    const open = FENCE.exec(line);
    if (open && !(open[1][0] === "`" && open[2].includes("`"))) {
      flush();
      code = { fence: open[1], lang: open[2].trim().split(/\s+/)[0].slice(0, 30), lines: [] };
    } else {
      prose.push(line);
    }
  }
  flush();
  if (code) node.append(codeBlock(code.lines, code.lang)); // an unclosed fence runs to the end
}

function show(view) {
  for (const id of ["signin-view", "label-view", "done-view"]) $(id).hidden = id !== view;
}

function renderHint(node, hint) {
  node.textContent = "";
  if (!hint) return;
  const verdict = hint.is_correct === null ? "unsure" : hint.is_correct ? "looks correct" : "looks incorrect";
  node.textContent = `LLM pre-check (a hint, not the label): ${verdict}. ${hint.rationale || ""}`;
}

function render(item) {
  current = item;
  const conv = $("conversation");
  conv.textContent = "";
  for (const turn of item.conversation) {
    const div = el("div", "turn " + turn.role);
    const content = el("div", "content");
    renderText(content, turn.content);
    div.append(el("div", "role", turn.role), content);
    conv.append(div);
  }
  renderText($("response-a"), item.responses.A);
  renderText($("response-b"), item.responses.B);
  renderHint($("hint-a"), item.precheck.A);
  renderHint($("hint-b"), item.precheck.B);
  const attrs = $("attributes");
  attrs.textContent = "";
  if (item.attributes) {
    const a = item.attributes;
    attrs.append(el("div", "", `Task: ${a.task_category} · ${a.objectivity} · ${a.controversiality} controversiality`));
    attrs.append(el("div", "", "Desired attributes: " + (a.desired_attributes || []).join("; ")));
    attrs.append(el("div", "", "Guideline: " + a.guideline));
  } else {
    attrs.append(el("div", "", "No attributes for this pair yet: follow the protocol."));
  }
  $("note").value = "";
  for (const box of document.querySelectorAll("#tools input")) box.checked = false;
  $("remaining").textContent = `${item.remaining} pair(s) left in your queue`;
  $("label-view").dataset.pairId = item.pair_id;
}

async function next() {
  const item = await api("/api/next?annotator=" + encodeURIComponent(annotator));
  if (item.done) {
    current = null;
    show("done-view");
    return;
  }
  show("label-view");
  render(item);
}

async function answer(choice) {
  if (!current || busy) return;
  busy = true;
  try {
    const tools = [...document.querySelectorAll("#tools input:checked")].map((b) => b.value);
    const body = { annotator, pair_id: current.pair_id, answer: choice, note: $("note").value, tools };
    await api("/api/label", { method: "POST", body: JSON.stringify(body) });
    status(`saved: ${choice === "discard" ? "cannot tell" : choice + " is better"}`);
    await next();
  } catch (err) {
    status("not saved: " + err.message, true);
  } finally {
    busy = false;
  }
}

async function signIn(name) {
  annotator = name.trim();
  if (!annotator) return;
  sessionStorage.setItem("annotator", annotator);
  $("who").textContent = "signed in as " + annotator;
  const config = await api("/api/config");
  const tools = $("tools");
  for (const tool of config.tools) {
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.value = tool;
    box.name = "tool";
    label.append(box, " " + tool + " ");
    tools.append(label);
  }
  await next();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("name").value).catch((err) => status(err.message, true));
});
$("btn-a").addEventListener("click", () => answer("A"));
$("btn-b").addEventListener("click", () => answer("B"));
$("btn-discard").addEventListener("click", () => answer("discard"));

document.addEventListener("keydown", (event) => {
  if (!current || event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = ["TEXTAREA", "INPUT"].includes(document.activeElement.tagName);
  if (typing) {
    if (event.key === "Escape") document.activeElement.blur();
    return;
  }
  const key = event.key.toLowerCase();
  const actions = { a: "A", 1: "A", b: "B", 2: "B", d: "discard", 0: "discard" };
  if (key in actions) {
    event.preventDefault();
    answer(actions[key]);
  } else if (key === "n") {
    event.preventDefault();
    $("note").focus();
  }
});

if (annotator) signIn(annotator).catch((err) => status(err.message, true));
