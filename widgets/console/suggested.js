// Customers' suggested phrasings, waiting for an editor to accept or reject them.

import { h } from '../shared/dom.js';
import { phrasingTable } from './phrasings.js';

export async function suggestedView(ctx) {
  const { phrasings } = await ctx.api.suggested();
  return h(
    'section',
    { class: 'card', 'data-kb': 'suggested' },
    h('h2', { tabindex: '-1', i18n: 'console.phrasings.heading' }),
    h('p', { class: 'muted', i18n: 'console.phrasings.suggested_intro' }),
    phrasingTable(ctx, phrasings, 'suggested-phrasings', () => ctx.refresh()),
  );
}
