// Copy to the clipboard: the async Clipboard API where the page may use it, else the old
// execCommand('copy') on a temporary textarea (plain http origins, older browsers).

/**
 * Copy `text`; with `html`, the clipboard also holds it as rich text, so a mail editor
 * pastes formatting while a plain field gets `text`. Resolves true when something was copied.
 */
export async function copy({ text, html }) {
  try {
    if (html && window.ClipboardItem && navigator.clipboard?.write) {
      const item = new ClipboardItem({
        'text/html': new Blob([html], { type: 'text/html' }),
        'text/plain': new Blob([text], { type: 'text/plain' }),
      });
      await navigator.clipboard.write([item]);
      return true;
    }
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Permission refused or not a secure context: fall through to the old way.
  }
  return legacyCopy(text);
}

function legacyCopy(text) {
  const previous = document.activeElement;
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'sr-only';
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  previous?.focus?.();
  return copied;
}
