// Freshness: articles past their review-by date, the ones serving most answers first.

import { h } from '../shared/dom.js';
import { dataTable } from './table.js';

export async function staleView(ctx) {
  const report = await ctx.api.stale();
  const open = (row) =>
    h('a', { href: `#${new URLSearchParams({ view: 'article', id: row.article_id })}`, 'data-kb': 'open-article', text: row.title });
  return h(
    'section',
    { class: 'card', 'data-kb': 'stale' },
    h('h2', { tabindex: '-1', i18n: 'console.stale.heading' }),
    h('p', { class: 'muted', i18n: 'console.stale.intro', args: { today: report.today } }),
    dataTable({
      name: 'stale-articles',
      columns: [
        { id: 'console.col.key', key: 'key' },
        { id: 'console.col.title', key: 'title', cell: open },
        { id: 'console.col.review_by', key: 'review_by' },
        { id: 'console.col.answers_30d', key: 'answers_30d' },
      ],
      rows: report.articles,
    }),
  );
}
