// The editors' console: the shared page contract (key from #key=... or the form, UI language),
// then one view at a time, chosen by the rest of the fragment (#view=article&id=...&locale=...).

import { h } from '../shared/dom.js';
import { startTool } from '../shared/tool.js';
import { relabel } from '../shared/i18n.js';
import { consoleApi } from './api.js';
import { articleView } from './article.js';
import { insightsView } from './insights.js';
import { listView } from './list.js';
import { newArticleView } from './new-article.js';
import { suggestedView } from './suggested.js';
import { staleView } from './stale.js';

const $ = (name) => document.querySelector(`[data-kb="${name}"]`);
const VIEWS = {
  articles: listView,
  article: articleView,
  new: newArticleView,
  phrasings: suggestedView,
  stale: staleView,
  insights: insightsView,
};

startTool((ui) => {
  const ctx = {
    ui,
    api: consoleApi(ui.client),
    /** A short message in the live region (announced by screen readers). */
    say(id, args) {
      $('error').hidden = true;
      relabel($('status'), id, args);
    },
    fail(err) {
      $('status').textContent = '';
      ui.fail(err);
    },
    /** Open a view: `go({ view: 'article', id, locale })`. */
    go(params) {
      location.hash = new URLSearchParams(params).toString();
    },
  };
  let generation = 0;
  async function show(focus) {
    const params = new URLSearchParams(location.hash.slice(1));
    const name = VIEWS[params.get('view')] ? params.get('view') : 'articles';
    for (const link of document.querySelectorAll('[data-kb=nav] a')) {
      link.toggleAttribute('aria-current', link.dataset.kb === `nav-${name === 'article' ? 'articles' : name}`);
      if (link.hasAttribute('aria-current')) link.setAttribute('aria-current', 'page');
    }
    const mine = ++generation;
    const view = $('view');
    $('error').hidden = true;
    view.setAttribute('aria-busy', 'true');
    if (!focus) view.replaceChildren(h('p', { class: 'card muted', 'data-kb': 'loading', i18n: 'console.loading' }));
    ui.refresh();
    try {
      const content = await VIEWS[name](ctx, params);
      if (mine !== generation) return; // the user moved on meanwhile
      view.replaceChildren(content);
      ui.refresh();
      // Focus the view's heading (or, after an action, the section it was taken in), so keyboard and screen-reader users start where it starts.
      (view.querySelector(focus || 'h2') ?? view.querySelector('h2'))?.focus();
    } catch (err) {
      if (mine === generation) ctx.fail(err);
    } finally {
      if (mine === generation) view.removeAttribute('aria-busy');
    }
  }
  /** Show the view again with fresh data; `focus`: a selector for where the user was. */
  ctx.refresh = (focus) => show(focus);
  // The skip link moves focus without touching the fragment, which chooses the view.
  document.querySelector('.skip').addEventListener('click', (event) => {
    event.preventDefault();
    $('view').querySelector('h2')?.focus();
  });
  addEventListener('hashchange', () => show());
  ui.onLanguage = () => document.dispatchEvent(new Event('kb-language'));
  show();
});
