// A word diff of two texts with jsdiff (vendor/diff.min.js, window.Diff): removed words in
// <del>, added ones in <ins>, so the change is in the markup for screen readers too, not
// only in the colour.

import { h } from '../shared/dom.js';

export function diffView(before, after) {
  const parts = globalThis.Diff.diffWordsWithSpace(before, after).map((part) => {
    if (part.added) return h('ins', { text: part.value });
    if (part.removed) return h('del', { text: part.value });
    return document.createTextNode(part.value);
  });
  const changed = parts.some((node) => node.nodeType === Node.ELEMENT_NODE);
  return h('pre', { class: 'diff', 'data-kb': 'diff', 'data-changed': String(changed) }, ...parts);
}
