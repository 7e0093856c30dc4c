// What every tool shows with an answer: the citation, the feedback buttons, the alternatives.
// Elements carry data-i18n ids; the tool translates them once they are in the page.

import { describeError } from './api.js';
import { h, safeUrl } from './dom.js';
import { relabel } from './i18n.js';

/** The discreet source line, [data-kb=citation] of the page contract: its data-* attributes
 *  (article, version, KB revision) are what tests compare. */
export function citation(answer) {
  return h('p', {
    class: 'kb-citation',
    'data-kb': 'citation',
    'data-article-id': answer.article_id,
    'data-key': answer.key,
    'data-version': answer.version,
    'data-kb-revision': answer.kb_revision,
    'data-locale': answer.locale,
    i18n: 'citation',
    args: {
      key: answer.key,
      article: answer.article_id,
      version: answer.version,
      locale: answer.locale,
      revision: answer.kb_revision,
    },
  });
}

/** How sure the API was (0..1), for agents deciding whether to use the answer. */
export function confidence(value) {
  const percent = Math.round(value * 100);
  return h('p', { class: 'kb-citation', 'data-kb': 'confidence', i18n: 'confidence', args: { percent } });
}

/** "Was this helpful?" with Yes / No; `rate(helpful)` returns a promise (the POST). */
export function feedback(rate) {
  const status = h('span', { class: 'kb-feedback-status', role: 'status' });
  const buttons = [
    h('button', { type: 'button', 'data-kb': 'helpful', i18n: 'feedback.yes' }),
    h('button', { type: 'button', 'data-kb': 'not-helpful', i18n: 'feedback.no' }),
  ];
  buttons.forEach((button, index) =>
    button.addEventListener('click', async () => {
      buttons.forEach((b) => { b.disabled = true; });
      button.setAttribute('aria-pressed', 'true');
      try {
        await rate(index === 0);
        relabel(status, 'feedback.thanks');
      } catch (err) {
        buttons.forEach((b) => { b.disabled = false; });
        button.removeAttribute('aria-pressed');
        relabel(status, ...describeError(err));
      }
    }),
  );
  return h(
    'div',
    { class: 'kb-feedback', role: 'group', i18nAttr: 'aria-label:feedback.question' },
    h('span', { class: 'kb-feedback-question', i18n: 'feedback.question' }),
    ...buttons,
    status,
  );
}

/** The other candidate sections as links; with `use`, a button to answer from one instead. */
export function alternatives(list, use) {
  if (!list?.length) return null;
  const items = list.map((alt) => {
    const href = safeUrl(alt.url);
    const label = `${alt.title} (${alt.key}, ${alt.locale})`;
    return h(
      'li',
      { 'data-kb': 'alternative', 'data-article-id': alt.article_id },
      href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: label }) : label,
      use
        ? h('button', {
            type: 'button',
            'data-kb': 'use-alternative',
            i18n: 'alternatives.use',
            on: { click: () => use(alt) },
          })
        : null,
    );
  });
  return h(
    'div',
    { class: 'kb-alternatives', 'data-kb': 'alternatives' },
    h('p', { class: 'kb-alternatives-title', i18n: 'alternatives.title' }),
    h('ul', {}, ...items),
  );
}
