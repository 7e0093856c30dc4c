// Keep Tab and Shift+Tab inside a dialog and close it with Escape. Works inside a shadow root:
// the focused element is asked of the container's root node, not of the document.

const FOCUSABLE = [
  'a[href]',
  'button:not([disabled])',
  'input:not([disabled])',
  'textarea:not([disabled])',
  'select:not([disabled])',
  '[tabindex]:not([tabindex="-1"])',
].join(',');

/** The focusable elements of `container` that are actually shown, in tab order. */
export function focusables(container) {
  return [...container.querySelectorAll(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);
}

export function trapFocus(container, onEscape) {
  container.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onEscape();
      return;
    }
    if (event.key !== 'Tab') return;
    const items = focusables(container);
    if (!items.length) return;
    const active = container.getRootNode().activeElement;
    const [first, last] = [items[0], items[items.length - 1]];
    const inside = container.contains(active);
    if (event.shiftKey && (active === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  });
}
