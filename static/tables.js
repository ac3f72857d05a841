// Findings and the tables of images, containers and ports, built from the
// JSON model with DOM calls only (textContent, never innerHTML), so no name
// from the compose file is ever read as markup.

const ID_LITERAL = /^[A-Za-z0-9.-]$/;

// Mirrors service/render/ids.py: an id longer than MAX_ID_LENGTH keeps that
// many characters and ends in "-" and the first DIGEST_LENGTH hex digits of
// the SHA-256 of the whole id. Change both together.
const MAX_ID_LENGTH = 96;
const DIGEST_LENGTH = 32;

/** Spell a Compose name the way the diagram spells it in element ids. */
export function encodeName(name) {
  let out = "";
  for (const char of name) {
    out += ID_LITERAL.test(char) ? char : `_${char.codePointAt(0).toString(16)}_`;
  }
  return out;
}

/** Return the diagram's id for an element of `kind` named by `name`. */
export function elementId(kind, name) {
  const full = `${kind}-${encodeName(name)}`;
  if (full.length <= MAX_ID_LENGTH) {
    return full;
  }
  return `${full.slice(0, MAX_ID_LENGTH)}-${sha256Hex(full).slice(0, DIGEST_LENGTH)}`;
}

export const serviceNodeId = (name) => elementId("service", name);
export const imageNodeId = (ref) => elementId("image", ref);

// The round constants and initial state of SHA-256 are the fractional parts
// of the cube and square roots of the first primes (FIPS 180-4, 4.2.2, 5.3.3).
// The page may be served over plain HTTP, where crypto.subtle does not exist,
// and it needs the digest synchronously, so the few lines are written here.
const PRIMES = [];
for (let candidate = 2; PRIMES.length < 64; candidate += 1) {
  if (PRIMES.every((prime) => candidate % prime !== 0)) {
    PRIMES.push(candidate);
  }
}
const rootBits = (value) => Math.floor((value - Math.floor(value)) * 2 ** 32) >>> 0;
const ROUND = PRIMES.map((prime) => rootBits(Math.cbrt(prime)));
const START = PRIMES.slice(0, 8).map((prime) => rootBits(Math.sqrt(prime)));

/** Return the SHA-256 of an ASCII string (an encoded id) as lowercase hex. */
export function sha256Hex(text) {
  const bytes = Array.from(text, (char) => char.charCodeAt(0) & 0xff);
  const bitLength = bytes.length * 8;
  bytes.push(0x80);
  while (bytes.length % 64 !== 56) {
    bytes.push(0);
  }
  for (let shift = 56; shift >= 0; shift -= 8) {
    bytes.push(Math.floor(bitLength / 2 ** shift) & 0xff);
  }
  const state = START.slice();
  for (let offset = 0; offset < bytes.length; offset += 64) {
    compressBlock(state, bytes, offset);
  }
  return state.map((word) => word.toString(16).padStart(8, "0")).join("");
}

function compressBlock(state, bytes, offset) {
  const rotate = (word, count) => (word >>> count) | (word << (32 - count));
  const words = new Array(64);
  for (let i = 0; i < 16; i += 1) {
    const at = offset + i * 4;
    words[i] = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8)
      | bytes[at + 3]) >>> 0;
  }
  for (let i = 16; i < 64; i += 1) {
    const low = words[i - 15];
    const high = words[i - 2];
    const mixLow = rotate(low, 7) ^ rotate(low, 18) ^ (low >>> 3);
    const mixHigh = rotate(high, 17) ^ rotate(high, 19) ^ (high >>> 10);
    words[i] = (words[i - 16] + mixLow + words[i - 7] + mixHigh) >>> 0;
  }
  let [a, b, c, d, e, f, g, h] = state;
  for (let i = 0; i < 64; i += 1) {
    const choose = (e & f) ^ (~e & g);
    const first = (h + (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) + choose
      + ROUND[i] + words[i]) >>> 0;
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const second = ((rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) + majority) >>> 0;
    [h, g, f, e, d, c, b, a] = [g, f, e, (d + first) >>> 0, c, b, a, (first + second) >>> 0];
  }
  [a, b, c, d, e, f, g, h].forEach((word, i) => {
    state[i] = (state[i] + word) >>> 0;
  });
}

function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.className) {
    node.className = options.className;
  }
  for (const [name, value] of Object.entries(options.attrs || {})) {
    node.setAttribute(name, value);
  }
  if (options.node) {
    node.dataset.node = options.node;
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const badge = (text, className) => el("span", { className: `badge ${className}` }, text);
const code = (text) => el("code", {}, text);
const muted = (text) => el("span", { className: "muted" }, text);

function linkButton(text, nodeId) {
  return el("button", { className: "link-button", node: nodeId, attrs: { type: "button" } }, text);
}

function heading(id, text, count) {
  return el("h3", { className: "sub-title", attrs: { id } }, text, " ",
    el("span", { className: "count" }, String(count)));
}

function table(id, headers, rows) {
  const head = el("thead", {}, el("tr", {},
    ...headers.map((text) => el("th", { attrs: { scope: "col" } }, text))));
  return el("div", { className: "table-wrap" },
    el("table", { className: "data-table", attrs: { id } }, head, el("tbody", {}, ...rows)));
}

function section(headingId, ...children) {
  return el("section", { className: "table-section", attrs: { "aria-labelledby": headingId } },
    ...children);
}

/** Render the findings and Compose's own warnings into their section. */
export function renderFindings(container, model) {
  const items = [];
  for (const finding of model.findings) {
    const node = finding.service ? serviceNodeId(finding.service) : undefined;
    items.push(el("li", { className: `finding severity-${finding.severity}`, node },
      badge(finding.severity, `severity-${finding.severity}`),
      el("span", { className: "finding-text" }, finding.message),
      el("code", { className: "finding-code" }, finding.code)));
  }
  for (const warning of model.warnings) {
    const where = describeLocation(warning.location);
    items.push(el("li", { className: "finding severity-compose" },
      badge("compose", "severity-compose"),
      el("span", { className: "finding-text" }, warning.message,
        where ? el("span", { className: "where" }, ` (${where})`) : null),
      el("code", { className: "finding-code" }, warning.code)));
  }
  const title = el("h3", { className: "sub-title", attrs: { id: "findings-heading" } }, "Findings");
  const body = items.length
    ? el("ul", { className: "finding-list" }, ...items)
    : el("p", { className: "empty" }, "Nothing to report.");
  container.replaceChildren(title, body);
}

export function describeLocation(location) {
  if (!location) {
    return "";
  }
  return [location.file, location.line, location.column].filter((part) => part != null).join(":");
}

function imageRow(image) {
  const node = imageNodeId(image.ref);
  const source = image.source === "build"
    ? [badge("built", "source-build"), ` by ${image.built_by.join(", ")}`,
        image.build ? " from " : null, image.build ? code(image.build.context) : null,
        image.build && image.build.dockerfile !== "Dockerfile" ? " with " : null,
        image.build && image.build.dockerfile !== "Dockerfile" ? code(image.build.dockerfile) : null]
    : [badge("pulled", "source-pull")];
  const shared = image.used_by.length > 1
    ? [" ", badge(`shared by ${image.used_by.length}`, "shared")]
    : [];
  return el("tr", { node },
    el("th", { attrs: { scope: "row" } }, linkButton(image.ref, node)),
    el("td", {}, ...source),
    el("td", {}, image.used_by.join(", "), ...shared));
}

/** Show a list of words as a command line, quoting words that hold spaces. */
export function describeWords(words) {
  return words.map((word) => (/[\s"']/.test(word) || word === "" ? JSON.stringify(word) : word))
    .join(" ");
}

/** Show an override's value in a table cell, the same way the server does. */
export function describeValue(key, value) {
  if (value === null || value === undefined) {
    return "";
  }
  if (Array.isArray(value)) {
    return key === "command" || key === "entrypoint" ? describeWords(value) : value.join(", ");
  }
  return String(value);
}

// As the server's page does: a long value folds into <details> after this many.
const LONG_VALUE = 120;

function foldedCode(text) {
  if (text.length <= LONG_VALUE) {
    return code(text);
  }
  return el("details", {}, el("summary", {}, code(`${text.slice(0, LONG_VALUE)}…`)), code(text));
}

function overrideList(service) {
  if (!service.overrides.length) {
    return muted("image defaults");
  }
  const items = service.overrides.map((item) => el("div",
    { className: `override relation-${item.relation}` },
    el("dt", {}, item.key),
    el("dd", {}, foldedCode(describeValue(item.key, item.value)),
      item.relation === "overrides"
        ? el("span", { className: "muted" }, " (image: ",
          code(describeValue(item.key, item.image_default)), ")")
        : null)));
  return el("dl", { className: "overrides" }, ...items);
}

function containerRow(service) {
  const node = serviceNodeId(service.name);
  return el("tr", { node },
    el("th", { attrs: { scope: "row" } }, linkButton(service.name, node)),
    el("td", {}, code(service.image)),
    el("td", {}, service.containers.join(", "),
      service.replicas !== 1 ? " " : null,
      service.replicas !== 1 ? badge(`×${service.replicas}`, "") : null,
      service.network_mode ? el("br") : null,
      service.network_mode ? muted(`network_mode: ${service.network_mode}`) : null),
    el("td", {}, overrideList(service)));
}

const REACH = {
  public: "every interface: the network",
  interface: "one host interface",
  loopback: "this host only",
  "host-network": "the host's network (network_mode: host)",
  internal: "Compose networks only",
};

/** Return the host side of a port binding as a reader would write it. */
export function describeBinding(port) {
  if (port.exposure === "internal") {
    return "not published";
  }
  if (port.exposure === "host-network") {
    return `host:${port.target}`;
  }
  const published = port.random_host_port || port.published === null ? "random" : port.published;
  const ip = port.host_ip || "0.0.0.0";
  return ip.includes(":") ? `[${ip}]:${published}` : `${ip}:${published}`;
}

export function portRows(model) {
  const rows = [];
  for (const service of model.services) {
    for (const port of [...service.ports, ...service.expose]) {
      rows.push({ service: service.name, port });
    }
  }
  return rows;
}

function portRow({ service, port }) {
  const node = serviceNodeId(service);
  return el("tr", { node, className: `exposure-row-${port.exposure}` },
    el("th", { attrs: { scope: "row" } }, linkButton(service, node)),
    el("td", {}, code(describeBinding(port))),
    el("td", {}, code(`${port.target}/${port.protocol}`)),
    el("td", {}, badge(port.exposure, `exposure-${port.exposure}`), " ",
      muted(REACH[port.exposure] || "")));
}

/** Render the three tables from the model. */
export function renderTables(container, model) {
  const ports = portRows(model);
  const portsBody = ports.length
    ? table("ports-table", ["Service", "Host binding", "Container port", "Reachable from"],
      ports.map(portRow))
    : el("p", { className: "empty" }, "No service publishes or exposes a port.");
  container.replaceChildren(
    section("images-heading", heading("images-heading", "Images", model.images.length),
      table("images-table", ["Image", "Source", "Run by"], model.images.map(imageRow))),
    section("containers-heading",
      heading("containers-heading", "Containers", model.services.length),
      table("containers-table", ["Service", "Image", "Containers", "Overrides"],
        model.services.map(containerRow))),
    section("ports-heading", heading("ports-heading", "Ports", ports.length), portsBody),
  );
}
