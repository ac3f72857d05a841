// The live page: edit or drop compose files and see the diagram, findings and
// tables update as you type. Everything here talks to the JSON API; nothing
// is stored on the server, and the share link carries the input in its
// fragment (which browsers never send to a server).

import { createEditor } from "./editor.js";
import { buildProjectBody, fileKind, mergeFiles, readFiles, sortFiles } from "./files.js";
import { createPanZoom } from "./panzoom.js";
import { buildImageLink, decodeShareFragment, encodeShareFragment } from "./share.js";
import { buildSafeSvg } from "./svg-safe.js";
import { describeLocation, renderFindings, renderTables } from "./tables.js";

const DEBOUNCE_MS = 400;
const TOGGLES = ["overrides", "networks", "depends_on", "volumes", "legend"];
const FORMATS = {
  svg: { accept: "image/svg+xml", type: "image/svg+xml" },
  png: { accept: "image/png", type: "image/png" },
  dot: { accept: "text/vnd.graphviz", type: "text/vnd.graphviz" },
  json: { accept: "application/json", type: "application/json" },
};

const $ = (id) => document.getElementById(id);
const form = $("input-form");
const textarea = $("editor-text");
const viewport = $("diagram-viewport");
const canvas = $("diagram-canvas");
const urls = { model: form.dataset.modelUrl, diagram: form.dataset.diagramUrl };

const editor = createEditor(textarea, $("editor-gutter"), $("editor-error-line"));
const panZoom = createPanZoom(viewport, canvas);

const state = {
  files: [{ name: form.elements.compose_name.value || "compose.yaml", content: textarea.value }],
  active: 0,
  pristine: true,
  lastGood: null,
  problem: null,
  sequence: 0,
  controller: null,
  timer: null,
  selected: null,
};

class ProblemError extends Error {
  constructor(problem) {
    super(problem.detail);
    this.problem = problem;
  }
}

// ---- Reading the form -------------------------------------------------------

function readOptions() {
  const options = {};
  for (const name of TOGGLES) {
    options[name] = form.elements[name].checked;
  }
  options.direction = form.elements.direction.value;
  options.service = form.elements.service.value || null;
  return options;
}

function readProfiles() {
  return form.elements.profiles.value.split(/[\s,]+/).filter(Boolean);
}

function writeOptions(options, profiles, projectName) {
  for (const name of TOGGLES) {
    if (typeof options[name] === "boolean") {
      form.elements[name].checked = options[name];
    }
  }
  if (options.direction) {
    form.elements.direction.value = options.direction;
  }
  setFocusChoices([], options.service || "");
  form.elements.profiles.value = (profiles || []).join(", ");
  form.elements.project_name.value = projectName || "";
}

function buildQuery(format, options) {
  const query = new URLSearchParams({ format });
  for (const name of TOGGLES) {
    query.set(name, String(options[name]));
  }
  query.set("direction", options.direction);
  if (options.service) {
    query.set("service", options.service);
  }
  return query;
}

function currentRequest() {
  const body = buildProjectBody(state.files, {
    profiles: readProfiles(),
    projectName: form.elements.project_name.value.trim(),
  });
  return { body, options: readOptions() };
}

// ---- Talking to the API -----------------------------------------------------

async function callApi(url, query, body, accept, signal) {
  let response;
  try {
    response = await fetch(`${url}?${query}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: `${accept}, application/problem+json` },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") {
      throw error;
    }
    throw new ProblemError({ title: "The service cannot be reached", detail: "Check that it is running, then edit the text to try again." });
  }
  if (!response.ok) {
    throw new ProblemError(await readProblem(response));
  }
  return response;
}

async function readProblem(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch (error) {
      // Fall through to the generic sentence below.
    }
  }
  return { title: `The service answered ${response.status}`, detail: response.statusText || "No detail was given." };
}

async function renderNow() {
  clearTimeout(state.timer);
  state.controller?.abort();
  const controller = new AbortController();
  const sequence = ++state.sequence;
  state.controller = controller;
  const { body, options } = currentRequest();
  form.dataset.state = "busy";
  setStatus("Rendering…", "is-busy");

  let model;
  let svg;
  try {
    const modelQuery = new URLSearchParams();
    [model, svg] = await Promise.all([
      callApi(urls.model, modelQuery, body, "application/json", controller.signal)
        .then((response) => response.json()),
      callApi(urls.diagram, buildQuery("svg", options), body, "image/svg+xml", controller.signal)
        .then((response) => response.text()),
    ]);
  } catch (error) {
    if (error.name !== "AbortError" && sequence === state.sequence) {
      showProblem(error instanceof ProblemError ? error.problem : { title: "Unexpected error", detail: String(error) });
    }
    return;
  }
  if (sequence !== state.sequence) {
    return;
  }
  showResult({ body, options, model, svg });
}

function scheduleRender(delay = DEBOUNCE_MS) {
  clearTimeout(state.timer);
  form.dataset.state = "pending";
  state.timer = setTimeout(renderNow, delay);
}

// ---- Showing results and errors ---------------------------------------------

function showResult(result) {
  let svgElement;
  try {
    svgElement = buildSafeSvg(result.svg);
  } catch (error) {
    showProblem({ title: "Unreadable diagram", detail: error.message });
    return;
  }
  canvas.replaceChildren(svgElement);
  canvas.dataset.project = result.model.project;
  if (!panZoom.view.touched) {
    panZoom.fitReadable();
  }
  renderFindings($("findings"), result.model);
  renderTables($("tables"), result.model);
  setFocusChoices(result.model.services.map((service) => service.name), result.options.service || "");
  state.lastGood = result;
  state.selected = null;
  clearProblem();
  const count = result.model.services.length;
  setStatus(`${count} service${count === 1 ? "" : "s"}, ${result.model.images.length} image${result.model.images.length === 1 ? "" : "s"}.`);
  form.dataset.state = "ready";
  form.dataset.renders = String(Number(form.dataset.renders || 0) + 1);
  updateShareFragment();
}

function showProblem(problem) {
  state.problem = problem;
  form.dataset.state = "error";
  const box = $("error-box");
  const where = describeLocation(problem);
  const parts = [el("p", "error-title", problem.title || "Error")];
  if (where) {
    parts.push(el("p", "error-where", where));
  }
  parts.push(el("p", "error-detail", problem.detail || ""));
  const fileIndex = state.files.findIndex((file) => file.name === problem.file);
  if (fileIndex >= 0 && fileIndex !== state.active) {
    const open = el("button", "button small", `Show ${problem.file}`);
    open.type = "button";
    open.addEventListener("click", () => activateFile(fileIndex));
    parts.push(open);
  }
  box.replaceChildren(...parts);
  box.hidden = false;
  markErrorLine();
  viewport.classList.toggle("is-stale", state.lastGood !== null);
  if (state.lastGood) {
    setStatus("The input has an error: the diagram below is the last valid one.", "is-stale");
  } else {
    setStatus("The input has an error.", "is-stale");
  }
}

function markErrorLine() {
  const problem = state.problem;
  const activeName = state.files[state.active]?.name;
  const line = problem && (problem.file === activeName || (!problem.file && state.files.length === 1))
    ? problem.line
    : null;
  editor.setErrorLine(line ?? null);
  if (line) {
    editor.revealLine(line);
  }
}

function clearProblem() {
  state.problem = null;
  $("error-box").hidden = true;
  $("error-box").replaceChildren();
  editor.setErrorLine(null);
  viewport.classList.remove("is-stale");
}

function setStatus(text, className = "") {
  const status = $("diagram-status");
  status.textContent = text;
  status.className = `status ${className}`.trim();
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function setFocusChoices(names, selected) {
  const select = form.elements.service;
  const choices = names.length ? names : [...select.options].slice(1).map((option) => option.value);
  const all = new Option("All services", "");
  const options = choices.map((name) => new Option(`${name} and what it depends on`, name));
  if (selected && !choices.includes(selected)) {
    options.push(new Option(`${selected} and what it depends on`, selected));
  }
  select.replaceChildren(all, ...options);
  select.value = selected;
}

// ---- Files -----------------------------------------------------------------

/** Say how Compose reads a file: its -f position, or what else it is. */
function fileLabel(file) {
  const kind = fileKind(file.name);
  if (kind === "env") {
    return state.files.find((other) => fileKind(other.name) === "env") === file
      ? "variables" : "not read";
  }
  if (kind === "dockerfile") {
    return "Dockerfile";
  }
  const position = state.files.filter((other) => fileKind(other.name) === "compose").indexOf(file);
  return `-f ${position + 1}`;
}

function renderFileList() {
  const list = $("file-list");
  const items = state.files.map((file, index) => {
    const item = document.createElement("li");
    item.className = `file-item${index === state.active ? " is-active" : ""}`;

    const open = el("button", "link-button file-open", file.name);
    open.type = "button";
    open.setAttribute("aria-pressed", String(index === state.active));
    open.title = "Edit this file";
    open.addEventListener("click", () => activateFile(index));

    const kind = el("span", "file-kind", fileLabel(file));

    const rename = el("button", "file-remove", "Rename");
    rename.type = "button";
    rename.setAttribute("aria-label", `Rename ${file.name}`);
    rename.addEventListener("click", () => startRename(item, index));

    const remove = el("button", "file-remove", "Remove");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove ${file.name}`);
    remove.addEventListener("click", () => removeFile(index));

    item.append(open, kind, rename, remove);
    return item;
  });
  list.replaceChildren(...items);
  $("editor-file-name").textContent = state.files[state.active]?.name ?? "";
}

function startRename(item, index) {
  const input = document.createElement("input");
  input.type = "text";
  input.className = "file-rename";
  input.value = state.files[index].name;
  input.setAttribute("aria-label", "Path of the file in the project, e.g. app/Dockerfile");
  let done = false;
  const finish = (commit) => {
    if (done) {
      return;
    }
    done = true;
    const name = input.value.trim();
    const oldName = state.files[index].name;
    if (commit && name && name !== oldName) {
      const activeName = state.files[state.active].name;
      const others = state.files.filter((_, position) => position !== index);
      state.files = mergeFiles(others, [{ ...state.files[index], name }]);
      const wanted = activeName === oldName ? name : activeName;
      state.active = Math.max(0, state.files.findIndex((file) => file.name === wanted));
      state.pristine = false;
      scheduleRender(0);
    }
    renderFileList();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      finish(true);
    } else if (event.key === "Escape") {
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
  item.replaceChildren(input);
  input.focus();
  input.select();
}

function activateFile(index) {
  state.active = index;
  editor.setText(state.files[index].content);
  renderFileList();
  markErrorLine();
  textarea.focus();
}

function removeFile(index) {
  state.files.splice(index, 1);
  if (!state.files.length) {
    state.files.push({ name: "compose.yaml", content: "" });
  }
  state.active = Math.min(state.active, state.files.length - 1);
  editor.setText(state.files[state.active].content);
  state.pristine = false;
  renderFileList();
  scheduleRender(0);
}

async function addFiles(fileList) {
  const added = await readFiles(fileList);
  if (!added.length) {
    return;
  }
  const hasCompose = added.some((file) => fileKind(file.name) === "compose");
  const base = state.pristine && hasCompose ? [] : state.files;
  state.files = mergeFiles(base, added);
  const first = added.find((file) => fileKind(file.name) === "compose") || added[0];
  state.active = state.files.findIndex((file) => file.name === first.name);
  state.pristine = false;
  editor.setText(state.files[state.active].content);
  renderFileList();
  renderNow();
}

// ---- Linking table rows and diagram nodes -----------------------------------

function linkedElements(nodeId) {
  const selector = `tr[data-node="${CSS.escape(nodeId)}"], li[data-node="${CSS.escape(nodeId)}"]`;
  const rows = [...document.querySelectorAll(selector)];
  const node = canvas.querySelector(`svg [id="${CSS.escape(nodeId)}"]`);
  return node ? [...rows, node] : rows;
}

function setLinked(nodeId, className, on) {
  for (const element of linkedElements(nodeId)) {
    element.classList.toggle(className, on);
  }
}

function selectNode(nodeId, centre) {
  if (state.selected) {
    setLinked(state.selected, "is-selected", false);
  }
  state.selected = state.selected === nodeId ? null : nodeId;
  if (state.selected) {
    setLinked(nodeId, "is-selected", true);
    const node = canvas.querySelector(`svg [id="${CSS.escape(nodeId)}"]`);
    if (node && centre) {
      panZoom.centreOn(node);
    }
  }
}

function nodeIdOf(target) {
  const row = target.closest("[data-node]");
  if (row) {
    return row.dataset.node;
  }
  const node = target.closest("svg g.node[id]");
  return node ? node.id : null;
}

function wireLinking(container) {
  const enter = (event) => {
    const nodeId = nodeIdOf(event.target);
    if (nodeId) {
      setLinked(nodeId, "is-linked", true);
    }
  };
  const leave = (event) => {
    const nodeId = nodeIdOf(event.target);
    if (nodeId) {
      setLinked(nodeId, "is-linked", false);
    }
  };
  container.addEventListener("mouseover", enter);
  container.addEventListener("mouseout", leave);
  container.addEventListener("focusin", enter);
  container.addEventListener("focusout", leave);
}

// ---- Downloads, links and sharing -------------------------------------------

function fileStem() {
  const name = state.lastGood?.model.project || "compose-topology";
  return name.replace(/[^A-Za-z0-9._-]+/g, "-") || "compose-topology";
}

async function download(format) {
  if (!state.lastGood) {
    setStatus("There is no diagram to download yet.");
    return;
  }
  const { body, options, svg } = state.lastGood;
  let blob;
  if (format === "svg") {
    blob = new Blob([svg], { type: FORMATS.svg.type });
  } else {
    try {
      const response = await callApi(urls.diagram, buildQuery(format, options), body, FORMATS[format].accept);
      blob = new Blob([await response.arrayBuffer()], { type: FORMATS[format].type });
    } catch (error) {
      showProblem(error.problem || { title: "Download failed", detail: String(error) });
      return;
    }
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${fileStem()}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

async function copyText(button, text, what) {
  try {
    await navigator.clipboard.writeText(text);
    setStatus(`Copied the ${what}.`);
  } catch (error) {
    setStatus(`Copy this ${what}: ${text}`);
  }
  button.dataset.copied = text;
  button.classList.add("copied");
  setTimeout(() => button.classList.remove("copied"), 1200);
}

async function imageLink() {
  const compose = state.files.filter((file) => fileKind(file.name) === "compose");
  const link = await buildImageLink(location.origin, "svg", compose[0]?.content ?? "");
  const query = new URLSearchParams();
  const options = readOptions();
  const defaults = { overrides: true, networks: true, depends_on: true, volumes: false, legend: true };
  for (const name of TOGGLES) {
    if (options[name] !== defaults[name]) {
      query.set(name, String(options[name]));
    }
  }
  if (options.direction !== "LR") {
    query.set("direction", options.direction);
  }
  if (options.service) {
    query.set("service", options.service);
  }
  const suffix = query.toString() ? `?${query}` : "";
  return { link: link + suffix, partial: state.files.length > 1 };
}

async function copyImageLink(button, markdown) {
  const { link, partial } = await imageLink();
  const text = markdown ? `![Compose topology](${link})` : link;
  await copyText(button, text, markdown ? "Markdown snippet" : "image link");
  if (partial) {
    setStatus(`Copied. The image link carries ${state.files.find((file) => fileKind(file.name) === "compose")?.name} only; other files are not in it.`);
  }
}

async function updateShareFragment() {
  if (state.pristine) {
    return;
  }
  const fragment = await encodeShareFragment({
    files: state.files,
    active: state.active,
    options: readOptions(),
    profiles: readProfiles(),
    project_name: form.elements.project_name.value.trim(),
  });
  history.replaceState(null, "", fragment);
}

async function restoreFromFragment() {
  let shared;
  try {
    shared = await decodeShareFragment(location.hash);
  } catch (error) {
    showProblem({ title: "The share link is damaged", detail: "It could not be decoded; the example is shown instead." });
    return false;
  }
  if (!shared) {
    return false;
  }
  state.files = sortFiles(shared.files.map(({ name, content }) => ({ name: String(name), content: String(content) })));
  state.active = Math.min(Math.max(0, shared.active | 0), state.files.length - 1);
  state.pristine = false;
  writeOptions(shared.options || {}, shared.profiles, shared.project_name);
  editor.setText(state.files[state.active].content);
  renderFileList();
  return true;
}

// ---- Wiring ------------------------------------------------------------------

function wire() {
  textarea.addEventListener("input", () => {
    state.files[state.active].content = textarea.value;
    state.pristine = false;
    scheduleRender();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    renderNow();
  });
  form.addEventListener("change", (event) => {
    if (event.target.name && event.target !== textarea && event.target.type !== "file") {
      state.pristine = false;
      scheduleRender(0);
    }
  });
  form.elements.profiles.addEventListener("input", () => scheduleRender());
  form.elements.project_name.addEventListener("input", () => scheduleRender());

  const picker = $("file-picker");
  $("file-button").addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    addFiles(picker.files);
    picker.value = "";
  });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("is-over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-over");
    addFiles(event.dataTransfer.files);
  });

  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", () => download(button.dataset.download));
  }
  $("copy-image-link").addEventListener("click", (event) => copyImageLink(event.currentTarget, false));
  $("copy-markdown").addEventListener("click", (event) => copyImageLink(event.currentTarget, true));
  $("copy-share-link").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    state.pristine = false;
    await updateShareFragment();
    await copyText(button, location.href, "share link");
  });

  $("zoom-in").addEventListener("click", panZoom.zoomIn);
  $("zoom-out").addEventListener("click", panZoom.zoomOut);
  $("zoom-fit").addEventListener("click", panZoom.fit);
  $("zoom-reset").addEventListener("click", panZoom.actualSize);

  wireLinking($("tables"));
  wireLinking($("findings"));
  wireLinking(canvas);
  $("tables").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-node]");
    if (button) {
      selectNode(button.dataset.node, true);
    }
  });
  canvas.addEventListener("click", (event) => {
    const nodeId = nodeIdOf(event.target);
    if (nodeId && !panZoom.isDragClick()) {
      selectNode(nodeId, false);
    }
  });
  window.addEventListener("hashchange", async () => {
    if (await restoreFromFragment()) {
      renderNow();
    }
  });
}

async function start() {
  wire();
  renderFileList();
  await restoreFromFragment();
  renderNow();
}

start();
