// The article list: filters (state, locale, tag, visibility, past review date), one row per
// article with each translation's state and a mark where a translation is behind its source.

import { h } from '../shared/dom.js';
import { dataTable } from './table.js';

const STATES = ['draft', 'in_review', 'approved', 'published', 'archived'];

export async function listView(ctx, params) {
  const filters = {
    status: params.get('status') || '',
    locale: params.get('locale') || '',
    tag: params.get('tag') || '',
    visibility: params.get('visibility') || '',
    overdue: params.get('overdue') === 'true',
  };
  const result = await ctx.api.articles(filters);
  const form = filterForm(ctx, filters);
  const table = dataTable({
    name: 'articles',
    columns: [
      { id: 'console.col.key', key: 'key' },
      { id: 'console.col.title', key: 'title', cell: (a) => openLink(a) },
      { id: 'console.col.translations', key: 'states', cell: (a) => states(a) },
      { id: 'console.col.tags', key: 'tags' },
      { id: 'console.col.visibility', key: 'visibility', cell: (a) => h('span', { i18n: `console.visibility.${a.visibility}` }) },
      { id: 'console.col.review_by', key: 'review_by' },
    ],
    rows: result.items.map((a) => ({
      ...a,
      tags: a.tags.join(' '),
      states: a.translations.map((t) => `${t.locale}:${t.status}${t.behind_source ? ':behind' : ''}`).join(' '),
    })),
  });
  return h(
    'section',
    { class: 'card', 'data-kb': 'articles' },
    h('h2', { tabindex: '-1', i18n: 'console.articles.title' }),
    form,
    h('p', { class: 'muted', 'data-kb': 'total', i18n: 'console.articles.total', args: { n: result.total } }),
    table,
  );
}

function openLink(article) {
  const locale = article.translations[0]?.locale ?? '';
  const href = `#${new URLSearchParams({ view: 'article', id: article.id, locale })}`;
  return h('a', { href, 'data-kb': 'open-article', 'data-article-id': article.id, text: article.title || article.id });
}

function states(article) {
  return h(
    'ul',
    { class: 'states' },
    ...article.translations.map((t) =>
      h(
        'li',
        { 'data-locale': t.locale, 'data-status': t.status },
        h('span', { class: 'locale', text: t.locale }),
        ' ',
        h('span', { class: `badge state-${t.status}`, i18n: `console.state.${t.status}` }),
        t.behind_source
          ? h('span', { class: 'badge behind', 'data-kb': 'behind', i18n: 'console.behind', args: { source: t.translation_of_locale } })
          : null,
      ),
    ),
  );
}

function filterForm(ctx, filters) {
  const select = (name, values, label) =>
    h(
      'select',
      { id: `filter-${name}`, name, 'data-kb': `filter-${name}` },
      h('option', { value: '', i18n: 'console.filter.any' }),
      ...values.map((v) => h('option', { value: v, selected: filters[name] === v, i18n: label(v) })),
    );
  const field = (name, control) =>
    h('div', { class: 'field' }, h('label', { for: `filter-${name}`, i18n: `console.filter.${name}` }), control);
  const form = h(
    'form',
    { class: 'filters', 'data-kb': 'filters', role: 'search' },
    field('status', select('status', STATES, (v) => `console.state.${v}`)),
    field('locale', h('input', { id: 'filter-locale', name: 'locale', type: 'text', value: filters.locale, placeholder: 'pl-PL', 'data-kb': 'filter-locale' })),
    field('tag', h('input', { id: 'filter-tag', name: 'tag', type: 'text', value: filters.tag, 'data-kb': 'filter-tag' })),
    field('visibility', select('visibility', ['public', 'internal'], (v) => `console.visibility.${v}`)),
    h(
      'div',
      { class: 'field check' },
      h('input', { id: 'filter-overdue', name: 'overdue', type: 'checkbox', checked: filters.overdue, 'data-kb': 'filter-overdue' }),
      h('label', { for: 'filter-overdue', i18n: 'console.filter.overdue' }),
    ),
    h('button', { class: 'primary', 'data-kb': 'apply-filters', i18n: 'console.filter.apply' }),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const wanted = { view: 'articles' };
    for (const [name, value] of data) if (value) wanted[name] = name === 'overdue' ? 'true' : String(value).trim();
    ctx.go(wanted);
  });
  return form;
}
