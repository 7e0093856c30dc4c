// Learned phrasings: an article's (every status), and the rows both lists share; suggested
// ones (from customers' keys) can be accepted or rejected.

import { h } from '../shared/dom.js';
import { dataTable } from './table.js';

export async function phrasingList(ctx, articleId, reload) {
  const { phrasings } = await ctx.api.articlePhrasings(articleId);
  return h(
    'section',
    { class: 'card', 'data-kb': 'article-phrasings' },
    h('h2', { tabindex: '-1', 'data-kb': 'phrasings-heading', i18n: 'console.phrasings.article_heading' }),
    h('p', { class: 'muted', i18n: 'console.phrasings.intro' }),
    phrasingTable(ctx, phrasings, `phrasings-${articleId}`, () => reload('[data-kb=phrasings-heading]')),
  );
}

export function phrasingTable(ctx, phrasings, name, after) {
  const judge = (row, verdict) =>
    h('button', {
      type: 'button',
      'data-kb': verdict,
      'data-phrasing-id': row.id,
      i18n: `console.phrasings.${verdict}`,
      on: {
        click: async () => {
          try {
            await ctx.api.judge(row.id, verdict);
            ctx.say(`console.said.phrasing_${verdict}ed`);
            after();
          } catch (err) {
            ctx.fail(err);
          }
        },
      },
    });
  return dataTable({
    name,
    columns: [
      { id: 'console.col.phrasing', key: 'text' },
      { id: 'console.col.article', key: 'article_id' },
      { id: 'console.col.language', key: 'language' },
      { id: 'console.col.status', key: 'status', cell: (r) => h('span', { class: 'badge', i18n: `console.phrasing_status.${r.status}` }) },
      { id: 'console.col.source', key: 'source' },
      {
        id: 'console.col.action',
        key: 'id',
        cell: (r) => (r.status === 'suggested' ? h('span', { class: 'actions tight' }, judge(r, 'accept'), judge(r, 'reject')) : ''),
      },
    ],
    rows: phrasings,
  });
}
