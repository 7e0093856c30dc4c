// One article: its translations (state, and whether each is behind its source), the selected
// translation's draft with live preview, the review workflow with the pre-publish impact,
// versions and diffs, details (tags, review date, visibility) and learned phrasings.

import { h } from '../shared/dom.js';
import { draftEditor } from './draft-editor.js';
import { metaForm } from './meta.js';
import { phrasingList } from './phrasings.js';
import { versionsPanel } from './versions.js';
import { workflowPanel } from './workflow.js';

const EDITABLE = new Set(['draft', 'published', 'archived']);

export async function articleView(ctx, params) {
  const article = await ctx.api.article(params.get('id'));
  const wanted = params.get('locale');
  const translation = article.translations.find((t) => t.locale === wanted) ?? article.translations[0];
  const locale = translation?.locale ?? wanted;
  const open = (newLocale) => ctx.go({ view: 'article', id: article.id, locale: newLocale });
  const reload = (focus) => ctx.refresh(focus);
  const parts = [
    h('section', { class: 'card', 'data-kb': 'article', 'data-article-id': article.id },
      h('h2', { tabindex: '-1', text: `${article.key} · ${translation?.draft_title ?? article.id}` }),
      h('p', { class: 'muted', text: [article.id, ...article.tags].join(' · ') }),
      translationTabs(article, locale, open),
      addTranslation(open)),
  ];
  if (translation) {
    const editor = draftEditor(ctx, {
      title: translation.draft_title,
      markdown: translation.draft_markdown,
      locale,
      articleId: article.id,
      readOnly: !EDITABLE.has(translation.status),
    });
    parts.push(
      draftCard(ctx, article, translation, editor, reload),
      workflowPanel(ctx, article, translation, reload),
      await versionsPanel(ctx, article, translation, editor, reload),
    );
  } else if (locale) {
    // A locale the article has no translation in yet: start one.
    const editor = draftEditor(ctx, { title: '', markdown: '', locale, articleId: article.id });
    parts.push(draftCard(ctx, article, { locale, status: 'new' }, editor, reload));
  }
  parts.push(metaForm(ctx, article, reload), await phrasingList(ctx, article.id, reload));
  return h('div', { class: 'stack' }, ...parts);
}

function translationTabs(article, current, open) {
  return h(
    'ul',
    { class: 'tabs', 'data-kb': 'translations' },
    ...article.translations.map((t) =>
      h(
        'li',
        { 'data-locale': t.locale, 'data-status': t.status },
        h(
          'button',
          {
            type: 'button',
            'data-kb': 'translation',
            'aria-pressed': String(t.locale === current),
            on: { click: () => open(t.locale) },
          },
          h('span', { text: t.locale }),
          ' ',
          h('span', { class: `badge state-${t.status}`, i18n: `console.state.${t.status}` }),
        ),
        t.behind_source
          ? h('span', { class: 'badge behind', 'data-kb': 'behind', i18n: 'console.behind', args: { source: t.translation_of_locale } })
          : null,
      ),
    ),
  );
}

function addTranslation(open) {
  const input = h('input', { id: 'add-locale', type: 'text', 'data-kb': 'add-locale', placeholder: 'uk-UA', required: true });
  const form = h(
    'form',
    { class: 'inline narrow', 'data-kb': 'add-translation' },
    h('label', { for: 'add-locale', class: 'sr-only', i18n: 'console.add_translation.label' }),
    input,
    h('button', { i18n: 'console.add_translation.button' }),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    open(input.value.trim());
  });
  return form;
}

function draftCard(ctx, article, translation, editor, reload) {
  const readOnly = translation.status !== 'new' && !EDITABLE.has(translation.status);
  const save = h('button', { type: 'submit', class: 'primary', 'data-kb': 'save', disabled: readOnly, i18n: 'console.draft.save' });
  const form = h(
    'form',
    { class: 'card', 'data-kb': 'draft' },
    h('h2', { tabindex: '-1', 'data-kb': 'draft-heading', i18n: 'console.draft.heading', args: { locale: translation.locale } }),
    translation.status === 'new'
      ? h('p', { class: 'muted', i18n: 'console.draft.new' })
      : h('p', { 'data-kb': 'draft-state' },
          h('span', { class: `badge state-${translation.status}`, i18n: `console.state.${translation.status}` }),
          ' ',
          h('span', { class: 'muted', i18n: 'console.draft.state', args: { author: translation.draft_author || '—' } })),
    translation.review_comment
      ? h('p', { class: 'comment', 'data-kb': 'review-comment' }, h('strong', { i18n: 'console.draft.comment' }), ' ', h('span', { text: translation.review_comment }))
      : null,
    readOnly ? h('p', { class: 'muted', i18n: 'console.draft.locked' }) : null,
    editor.element,
    h('div', { class: 'actions' }, save),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await ctx.api.saveDraft(article.id, translation.locale, editor.value());
      ctx.say('console.said.saved');
      reload('[data-kb=draft-heading]');
    } catch (err) {
      ctx.fail(err);
    }
  });
  return form;
}
