// A new article: its first translation as a draft, with the same editor and preview.

import { h } from '../shared/dom.js';
import { draftEditor } from './draft-editor.js';

export async function newArticleView(ctx, params) {
  const locale = params.get('locale') || 'en-GB';
  const editor = draftEditor(ctx, { title: '', markdown: '', locale });
  const field = (id, label, control) => h('div', { class: 'field' }, h('label', { for: id, i18n: label }), control);
  const idInput = h('input', { id: 'new-id', type: 'text', 'data-kb': 'new-id', placeholder: 'billing-payment-methods' });
  const localeInput = h('input', { id: 'new-locale', type: 'text', 'data-kb': 'new-locale', value: locale, required: true });
  const tags = h('input', { id: 'new-tags', type: 'text', 'data-kb': 'new-tags' });
  const visibility = h(
    'select',
    { id: 'new-visibility', 'data-kb': 'new-visibility' },
    h('option', { value: 'public', i18n: 'console.visibility.public' }),
    h('option', { value: 'internal', i18n: 'console.visibility.internal' }),
  );
  // The preview follows the locale (texts such as "Read the full article" are localised).
  localeInput.addEventListener('change', () => ctx.go({ view: 'new', locale: localeInput.value.trim() }));
  const form = h(
    'form',
    { class: 'card', 'data-kb': 'new-form' },
    h('h2', { tabindex: '-1', i18n: 'console.new.title' }),
    h('div', { class: 'filters' },
      field('new-id', 'console.new.id', idInput),
      field('new-locale', 'console.new.locale', localeInput),
      field('new-tags', 'console.new.tags', tags),
      field('new-visibility', 'console.meta.visibility', visibility)),
    editor.element,
    h('div', { class: 'actions' }, h('button', { class: 'primary', 'data-kb': 'create', i18n: 'console.new.create' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { title, markdown } = editor.value();
    try {
      const article = await ctx.api.create({
        id: idInput.value.trim() || undefined,
        locale: localeInput.value.trim(),
        title,
        markdown,
        tags: tags.value.split(/[\s,]+/).filter(Boolean),
        visibility: visibility.value,
      });
      ctx.say('console.said.created', { key: article.key });
      ctx.go({ view: 'article', id: article.id, locale: localeInput.value.trim() });
    } catch (err) {
      ctx.fail(err);
    }
  });
  return form;
}
