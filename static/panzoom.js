// Zoom and pan for the diagram viewport: wheel or buttons zoom, dragging or
// the arrow keys pan. The canvas is moved with a CSS transform set through
// the style object, which a strict Content Security Policy allows.

const MIN_SCALE = 0.1;
const MAX_SCALE = 4;
const KEY_STEP = 60;
const DRAG_THRESHOLD = 4;
const READABLE_SCALE = 0.35;

export function createPanZoom(viewport, canvas) {
  const view = { scale: 1, x: 0, y: 0, touched: false };
  let drag = null;
  let dragEndedAt = -Infinity;

  function apply() {
    canvas.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
  }

  function zoomAt(factor, px, py) {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
    const ratio = scale / view.scale;
    view.x = px - (px - view.x) * ratio;
    view.y = py - (py - view.y) * ratio;
    view.scale = scale;
    view.touched = true;
    apply();
  }

  function zoomCentre(factor) {
    zoomAt(factor, viewport.clientWidth / 2, viewport.clientHeight / 2);
  }

  function wholeScale(width, height) {
    return Math.min(viewport.clientWidth / width, viewport.clientHeight / height, 1);
  }

  /** Show the canvas at `scale`, centred across, and at `top` or centred down. */
  function placeAt(scale, width, height, top = null) {
    view.scale = scale;
    view.x = (viewport.clientWidth - width * scale) / 2;
    view.y = top ?? (viewport.clientHeight - height * scale) / 2;
    view.touched = false;
    apply();
  }

  function fit() {
    const width = canvas.offsetWidth;
    const height = canvas.offsetHeight;
    if (width && height) {
      placeAt(Math.max(MIN_SCALE, wholeScale(width, height)), width, height);
    }
  }

  /**
   * Show a new diagram: whole when that keeps it readable, else as wide as
   * the view from its top, so a tall stack opens legible and pans down.
   */
  function fitReadable() {
    const width = canvas.offsetWidth;
    const height = canvas.offsetHeight;
    if (!width || !height) {
      return;
    }
    const whole = wholeScale(width, height);
    if (whole >= READABLE_SCALE) {
      placeAt(Math.max(MIN_SCALE, whole), width, height);
      return;
    }
    const readable = Math.min(viewport.clientWidth / width, 1, READABLE_SCALE * 2);
    placeAt(Math.max(whole, readable), width, height, 0);
  }

  function actualSize() {
    view.scale = 1;
    view.x = 0;
    view.y = 0;
    view.touched = true;
    apply();
  }

  function panBy(dx, dy) {
    view.x += dx;
    view.y += dy;
    view.touched = true;
    apply();
  }

  /** Move the view so that an element of the canvas sits in the middle. */
  function centreOn(element) {
    const box = element.getBoundingClientRect();
    const frame = viewport.getBoundingClientRect();
    panBy(
      frame.left + frame.width / 2 - (box.left + box.width / 2),
      frame.top + frame.height / 2 - (box.top + box.height / 2),
    );
  }

  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    const frame = viewport.getBoundingClientRect();
    const factor = Math.exp(-event.deltaY * 0.0015);
    zoomAt(factor, event.clientX - frame.left, event.clientY - frame.top);
  }, { passive: false });

  viewport.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) {
      return;
    }
    drag = { id: event.pointerId, x: event.clientX, y: event.clientY, moved: false };
  });

  viewport.addEventListener("pointermove", (event) => {
    if (!drag || drag.id !== event.pointerId) {
      return;
    }
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) {
      return;
    }
    if (!drag.moved) {
      drag.moved = true;
      viewport.setPointerCapture(event.pointerId);
      viewport.classList.add("is-panning");
    }
    drag.x = event.clientX;
    drag.y = event.clientY;
    panBy(dx, dy);
  });

  function endDrag(event) {
    if (drag && drag.moved) {
      // The click that ends a drag must not select the node under the pointer.
      dragEndedAt = performance.now();
    }
    if (drag && viewport.hasPointerCapture(event.pointerId)) {
      viewport.releasePointerCapture(event.pointerId);
    }
    viewport.classList.remove("is-panning");
    drag = null;
  }

  viewport.addEventListener("pointerup", endDrag);
  viewport.addEventListener("pointercancel", endDrag);

  viewport.addEventListener("keydown", (event) => {
    const moves = {
      ArrowLeft: [KEY_STEP, 0], ArrowRight: [-KEY_STEP, 0],
      ArrowUp: [0, KEY_STEP], ArrowDown: [0, -KEY_STEP],
    };
    if (moves[event.key]) {
      panBy(...moves[event.key]);
    } else if (event.key === "+" || event.key === "=") {
      zoomCentre(1.25);
    } else if (event.key === "-" || event.key === "_") {
      zoomCentre(0.8);
    } else if (event.key === "0") {
      fit();
    } else if (event.key === "1") {
      actualSize();
    } else {
      return;
    }
    event.preventDefault();
  });

  return {
    view,
    fit,
    fitReadable,
    actualSize,
    centreOn,
    isDragClick: () => performance.now() - dragEndedAt < 100,
    zoomIn: () => zoomCentre(1.25),
    zoomOut: () => zoomCentre(0.8),
  };
}
