// Loaded in <head>, before the page paints: mark that script runs, so the
// page shows its live controls instead of the plain-form fallbacks.
document.documentElement.classList.add("js");
