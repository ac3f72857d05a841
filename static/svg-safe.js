// Turn diagram SVG text into DOM nodes that cannot run script.
//
// Why inline and not <img>: the page links diagram nodes to table rows (hover
// and click highlight both) and shows the nodes' tooltips, which needs the
// SVG's elements in the page. An <img> would be inert but unreachable. So the
// text is parsed with DOMParser into a separate, script-less document and
// rebuilt from an allow-list: only drawing elements survive, every on*
// attribute and style attribute is dropped, and a link may only point inside
// the document (#...). The page's Content Security Policy (script-src 'self',
// no inline script) is the second wall should anything slip through.

const SVG_NS = "http://www.w3.org/2000/svg";

const ALLOWED_ELEMENTS = new Set([
  "svg", "g", "title", "desc", "defs", "a",
  "polygon", "polyline", "path", "ellipse", "circle", "rect", "line",
  "text", "tspan", "lineargradient", "radialgradient", "stop", "clippath", "marker",
]);

const ALLOWED_ATTRIBUTES = new Set([
  "id", "class", "width", "height", "viewbox", "preserveaspectratio", "transform",
  "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "d", "points",
  "fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity",
  "stroke-linecap", "stroke-linejoin", "opacity", "font-family", "font-size",
  "font-weight", "font-style", "text-anchor", "dominant-baseline", "text-decoration",
  "offset", "stop-color", "stop-opacity", "gradientunits", "gradienttransform",
  "clip-path", "href", "title", "target", "version", "xmlns", "xmlns:xlink",
  "baseline-shift", "letter-spacing", "textlength", "lengthadjust",
]);

function isSafeAttribute(attribute) {
  const name = attribute.localName.toLowerCase();
  if (!ALLOWED_ATTRIBUTES.has(name) && attribute.name !== "xmlns:xlink") {
    return false;
  }
  if (name === "href") {
    return attribute.value.trim().startsWith("#");
  }
  return true;
}

function cleanElement(element) {
  for (const attribute of [...element.attributes]) {
    if (!isSafeAttribute(attribute)) {
      element.removeAttributeNode(attribute);
    }
  }
  for (const child of [...element.children]) {
    const allowed =
      child.namespaceURI === SVG_NS && ALLOWED_ELEMENTS.has(child.localName.toLowerCase());
    if (allowed) {
      cleanElement(child);
    } else {
      child.remove();
    }
  }
}

/** Parse SVG text and return a sanitised <svg> element owned by this document. */
export function buildSafeSvg(text) {
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = parsed.documentElement;
  if (parsed.querySelector("parsererror") || root.namespaceURI !== SVG_NS
      || root.localName !== "svg") {
    throw new Error("The server sent a diagram this page cannot read.");
  }
  cleanElement(root);
  return document.importNode(root, true);
}
