// The labelling page: sign in, fetch the next pair, answer with the mouse or the keyboard.
"use strict";
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
let annotator = sessionStorage.getItem("annotator") || "";
let current = null;
let busy = false;

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const resp = await fetch(path, { ...options, headers });
  const body = await resp.json();
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
    div.append(el("div", "role", turn.role), el("div", "", turn.content));
    conv.append(div);
  }
  $("response-a").textContent = item.responses.A;
  $("response-b").textContent = item.responses.B;
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
