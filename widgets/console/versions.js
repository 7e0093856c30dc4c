// Every published version of a translation (roll back to any), and a diff between any two of
// them or the draft being edited.

import { h } from '../shared/dom.js';
import { diffView } from './diff.js';
import { dataTable } from './table.js';

const DRAFT = 'draft';

export async function versionsPanel(ctx, article, translation, editor, reload) {
  const versions = await ctx.api.versions(article.id, translation.locale);
  const rollback = (n) =>
    h('button', {
      type: 'button',
      'data-kb': 'rollback',
      'data-version': n,
      i18n: 'console.versions.rollback',
      args: { version: n },
      on: {
        click: async () => {
          try {
            await ctx.api.rollback(article.id, translation.locale, n);
            ctx.say('console.said.rolled_back', { version: n });
            reload('[data-kb=versions-heading]');
          } catch (err) {
            ctx.fail(err);
          }
        },
      },
    });
  const table = dataTable({
    name: `versions-${article.id}-${translation.locale}`,
    columns: [
      { id: 'console.col.version', key: 'version' },
      { id: 'console.col.title', key: 'title' },
      { id: 'console.col.author', key: 'author' },
      { id: 'console.col.created', key: 'created_at', cell: (v) => new Date(v.created_at).toLocaleString(document.documentElement.lang) },
      { id: 'console.col.note', key: 'note' },
      { id: 'console.col.action', key: 'version', cell: (v) => (v.version === translation.live_version ? h('span', { class: 'badge', i18n: 'console.versions.live' }) : rollback(v.version)) },
    ],
    rows: [...versions].reverse(),
  });
  return h(
    'section',
    { class: 'card', 'data-kb': 'versions' },
    h('h2', { tabindex: '-1', 'data-kb': 'versions-heading', i18n: 'console.versions.heading' }),
    table,
    versions.length ? comparer(ctx, article, translation, versions, editor) : null,
  );
}

function comparer(ctx, article, translation, versions, editor) {
  const options = (selected) => [
    ...versions.map((v) => h('option', { value: String(v.version), selected: v.version === selected, i18n: 'console.versions.option', args: { version: v.version } })),
    h('option', { value: DRAFT, selected: selected === DRAFT, i18n: 'console.versions.draft' }),
  ];
  const last = versions[versions.length - 1].version;
  const from = h('select', { id: 'diff-from', 'data-kb': 'diff-from' }, ...options(versions.length > 1 ? last - 1 : last));
  const to = h('select', { id: 'diff-to', 'data-kb': 'diff-to' }, ...options(versions.length > 1 ? last : DRAFT));
  const out = h('div', { 'data-kb': 'diff-out', 'aria-live': 'polite' });
  const text = async (value) =>
    value === DRAFT ? editor.value().markdown : (await ctx.api.version(article.id, translation.locale, value)).markdown;
  const form = h(
    'form',
    { class: 'compare', 'data-kb': 'compare-form' },
    h('h3', { i18n: 'console.versions.compare_heading' }),
    h('div', { class: 'inline' },
      h('label', { for: 'diff-from', i18n: 'console.versions.from' }), from,
      h('label', { for: 'diff-to', i18n: 'console.versions.to' }), to,
      h('button', { 'data-kb': 'compare', i18n: 'console.versions.compare' })),
    out,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const [before, after] = await Promise.all([text(from.value), text(to.value)]);
      const view = diffView(before, after);
      out.replaceChildren(
        h('p', { class: 'muted small', i18n: view.dataset.changed === 'true' ? 'console.versions.legend' : 'console.versions.same' }),
        view,
      );
      ctx.ui.refresh();
    } catch (err) {
      ctx.fail(err);
    }
  });
  return form;
}
