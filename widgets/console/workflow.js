// The review workflow of one translation: submit; approve or reject with a comment; what
// publishing would change (replayed recent questions) shown before the publish button;
// publish; archive. The server decides who may do what (403 is shown as an error).

import { describeError } from '../shared/api.js';
import { h } from '../shared/dom.js';
import { relabel } from '../shared/i18n.js';

const FOCUS = '[data-kb=workflow-heading]';

export function workflowPanel(ctx, article, translation, reload) {
  const { status } = translation;
  const act = (step, body, said) => async () => {
    try {
      await ctx.api.step(article.id, translation.locale, step, body?.());
      ctx.say(said, { locale: translation.locale });
      reload(FOCUS);
    } catch (err) {
      ctx.fail(err);
    }
  };
  const button = (step, label, said, { primary = false, body } = {}) =>
    h('button', { type: 'button', class: primary ? 'primary' : undefined, 'data-kb': step, i18n: label, on: { click: act(step, body, said) } });
  const comment = h('textarea', { id: 'review-comment', 'data-kb': 'comment', rows: '3' });
  const commentField = [h('label', { for: 'review-comment', i18n: 'console.review.comment' }), comment];
  const withComment = { body: () => ({ comment: comment.value.trim() || null }) };
  const parts = [h('h2', { tabindex: '-1', 'data-kb': 'workflow-heading', i18n: 'console.review.heading' })];
  if (status === 'draft') {
    parts.push(h('p', { class: 'muted', i18n: 'console.review.draft' }), h('div', { class: 'actions' }, button('submit', 'console.review.submit', 'console.said.submitted', { primary: true })));
  }
  if (status === 'in_review' || status === 'approved') {
    parts.push(impactPanel(ctx, article, translation));
    parts.push(...commentField);
    const actions = status === 'in_review'
      ? [button('approve', 'console.review.approve', 'console.said.approved', { primary: true, ...withComment })]
      : [button('publish', 'console.review.publish', 'console.said.published', { primary: true })];
    actions.push(button('reject', 'console.review.reject', 'console.said.rejected', withComment));
    parts.push(h('div', { class: 'actions' }, ...actions));
  }
  if (status === 'published') parts.push(h('p', { class: 'muted', i18n: 'console.review.published', args: { version: translation.live_version } }));
  if (status !== 'archived') {
    parts.push(h('div', { class: 'actions danger' }, button('archive', 'console.review.archive', 'console.said.archived')));
  } else {
    parts.push(h('p', { class: 'muted', i18n: 'console.review.archived' }));
  }
  return h('section', { class: 'card', 'data-kb': 'workflow', 'data-status': status }, ...parts);
}

/** The questions whose answer would change if the draft went live, loaded at once. */
function impactPanel(ctx, article, translation) {
  const state = h('p', { role: 'status', 'data-kb': 'impact-state', i18n: 'console.impact.loading' });
  const list = h('ul', { class: 'impact', 'data-kb': 'impact' });
  const panel = h('div', { class: 'impact-box' }, h('h3', { i18n: 'console.impact.heading' }), state, list);
  ctx.api.impact(article.id, translation.locale).then(
    (report) => {
      relabel(state, 'console.impact.summary', { checked: report.checked, changed: report.changed.length });
      state.dataset.done = 'true';
      list.replaceChildren(...report.changed.map(change));
    },
    (err) => relabel(state, ...describeError(err)),
  );
  return panel;
}

function change(item) {
  const where = (target) =>
    target
      ? h('span', { text: `${target.article_id} (${target.locale}) ${target.heading_path.join(' › ')}`.trim() })
      : h('em', { i18n: 'console.impact.abstain' });
  return h(
    'li',
    { 'data-kb': 'impact-change' },
    h('q', { text: item.question }),
    ' ',
    h('span', { class: 'muted', text: `(${item.channel})` }),
    h('div', { class: 'small' }, h('span', { i18n: 'console.impact.before' }), ' ', where(item.before), ' → ', h('span', { i18n: 'console.impact.after' }), ' ', where(item.after)),
  );
}
