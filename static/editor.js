// A plain <textarea> with a line-number gutter and a bar under the line an
// error points at. The textarea does not wrap lines, so line n sits at a fixed
// offset and the gutter and bar only need to follow its scroll position.

export function createEditor(textarea, gutter, errorBar) {
  let lineCount = 0;
  let errorLine = null;

  function metrics() {
    const style = getComputedStyle(textarea);
    return {
      lineHeight: parseFloat(style.lineHeight),
      paddingTop: parseFloat(style.paddingTop),
    };
  }

  function renderGutter() {
    const count = textarea.value.split("\n").length;
    if (count !== lineCount) {
      const numbers = document.createDocumentFragment();
      for (let n = 1; n <= count; n += 1) {
        const number = document.createElement("span");
        number.textContent = String(n);
        numbers.append(number);
      }
      // Room for the textarea's horizontal scrollbar, so both scroll equally far.
      const spacer = document.createElement("span");
      spacer.className = "gutter-spacer";
      spacer.textContent = "\u00a0";
      numbers.append(spacer);
      gutter.replaceChildren(numbers);
      lineCount = count;
    }
    markGutter();
  }

  function markGutter() {
    gutter.querySelectorAll("span.is-error").forEach((span) => span.classList.remove("is-error"));
    if (errorLine !== null && errorLine <= lineCount) {
      gutter.children[errorLine - 1].classList.add("is-error");
    }
  }

  function followScroll() {
    gutter.scrollTop = textarea.scrollTop;
    if (errorLine === null) {
      errorBar.hidden = true;
      return;
    }
    const { lineHeight, paddingTop } = metrics();
    errorBar.style.top = `${paddingTop + (errorLine - 1) * lineHeight - textarea.scrollTop}px`;
    errorBar.hidden = false;
  }

  function setErrorLine(line) {
    errorLine = Number.isInteger(line) && line >= 1 ? line : null;
    markGutter();
    followScroll();
  }

  /** Scroll so that a line is in view, without moving the caret. */
  function revealLine(line) {
    const { lineHeight } = metrics();
    const top = (line - 1) * lineHeight;
    const visible = textarea.clientHeight - 2 * lineHeight;
    if (top < textarea.scrollTop || top > textarea.scrollTop + visible) {
      textarea.scrollTop = Math.max(0, top - textarea.clientHeight / 3);
    }
    followScroll();
  }

  function setText(text) {
    textarea.value = text;
    textarea.scrollTop = 0;
    renderGutter();
    followScroll();
  }

  textarea.addEventListener("input", renderGutter);
  textarea.addEventListener("scroll", followScroll);
  new ResizeObserver(followScroll).observe(textarea);
  renderGutter();

  return { setErrorLine, revealLine, setText };
}
