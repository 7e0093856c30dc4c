// Small DOM helpers. Text always goes in as text; the one way HTML goes in is safeFragment().

/**
 * Build an element. `props`: attributes (strings), plus `i18n` / `args` / `i18nAttr` for the
 * locale table (see i18n.js), `text` for textContent and `on` for event listeners.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') el.textContent = String(value);
    else if (name === 'i18n') el.dataset.i18n = value;
    else if (name === 'i18nAttr') el.dataset.i18nAttr = value;
    else if (name === 'args') el.dataset.i18nArgs = JSON.stringify(value);
    else if (name === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  el.append(...children.filter((child) => child !== null && child !== undefined));
  return el;
}

// The same allowlist as the server's sanitiser (kb_service/rendering/markup.py). The server
// already cleans rendering.html; this second pass is cheap insurance for a widget that runs
// inside customers' pages.
const TAGS = new Set([
  'P', 'BR', 'UL', 'OL', 'LI', 'STRONG', 'B', 'EM', 'I', 'CODE', 'PRE', 'BLOCKQUOTE', 'A',
  'H1', 'H2', 'H3', 'H4', 'H5', 'H6',
]);
const DROP = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'MATH']);

/** An http(s) or mailto URL, or null. */
export function safeUrl(value) {
  try {
    const url = new URL(value, document.baseURI);
    return ['http:', 'https:', 'mailto:'].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** Sanitised HTML from the API as a fragment: allowlisted tags, links only to safe URLs. */
export function safeFragment(html) {
  // DOMParser documents are inert: nothing in them runs or loads while we clean them.
  const doc = new DOMParser().parseFromString(`<body>${html}`, 'text/html');
  clean(doc.body);
  const fragment = document.createDocumentFragment();
  fragment.append(...[...doc.body.childNodes].map((node) => document.importNode(node, true)));
  return fragment;
}

function clean(parent) {
  for (const node of [...parent.childNodes]) {
    if (node.nodeType === Node.COMMENT_NODE) node.remove();
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    if (DROP.has(node.tagName.toUpperCase())) {
      node.remove();
      continue;
    }
    clean(node);
    if (!TAGS.has(node.tagName)) {
      node.replaceWith(...node.childNodes); // keep the text of an unknown element
      continue;
    }
    const href = node.tagName === 'A' ? safeUrl(node.getAttribute('href') || '') : null;
    for (const attr of [...node.attributes]) node.removeAttribute(attr.name);
    if (href) {
      node.setAttribute('href', href);
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  }
}
