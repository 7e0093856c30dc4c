// An article's details for all its translations: tags, review-by date and visibility
// (a visibility change needs a reviewer; an editor gets the server's 403).

import { h } from '../shared/dom.js';

export function metaForm(ctx, article, reload) {
  const tags = h('input', { id: 'meta-tags', type: 'text', 'data-kb': 'meta-tags', value: article.tags.join(', ') });
  const reviewBy = h('input', { id: 'meta-review-by', type: 'date', 'data-kb': 'meta-review-by', value: article.review_by ?? '' });
  const visibility = h(
    'select',
    { id: 'meta-visibility', 'data-kb': 'meta-visibility' },
    ...['public', 'internal'].map((v) => h('option', { value: v, selected: v === article.visibility, i18n: `console.visibility.${v}` })),
  );
  const field = (id, label, control) => h('div', { class: 'field' }, h('label', { for: id, i18n: label }), control);
  const form = h(
    'form',
    { class: 'card', 'data-kb': 'meta' },
    h('h2', { tabindex: '-1', 'data-kb': 'meta-heading', i18n: 'console.meta.heading' }),
    h('div', { class: 'filters' },
      field('meta-tags', 'console.meta.tags', tags),
      field('meta-review-by', 'console.meta.review_by', reviewBy),
      field('meta-visibility', 'console.meta.visibility', visibility)),
    h('div', { class: 'actions' }, h('button', { 'data-kb': 'save-meta', i18n: 'console.meta.save' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      tags: tags.value.split(/[\s,]+/).filter(Boolean),
      review_by: reviewBy.value || null,
    };
    // Only a change is sent: an editor may keep the visibility without a reviewer's rights.
    if (visibility.value !== article.visibility) body.visibility = visibility.value;
    try {
      await ctx.api.updateMeta(article.id, body);
      ctx.say('console.said.meta_saved');
      reload('[data-kb=meta-heading]');
    } catch (err) {
      ctx.fail(err);
    }
  });
  return form;
}
