// Title and Markdown side by side with a live preview: the server renders the draft exactly as
// the chosen channel would answer from it (POST /v1/render), section by section. No Markdown
// is rendered here; the HTML goes in through safeFragment() like every answer.

import { describeError } from '../shared/api.js';
import { h, safeFragment } from '../shared/dom.js';
import { relabel } from '../shared/i18n.js';

const DEBOUNCE_MS = 300; // one request per pause in typing, not per key

/** `draft`: { title, markdown, locale, articleId, readOnly }; returns { element, value() }. */
export function draftEditor(ctx, draft) {
  const title = h('input', { id: 'draft-title', type: 'text', 'data-kb': 'draft-title', value: draft.title, readonly: draft.readOnly, required: true });
  const markdown = h('textarea', { id: 'draft-markdown', 'data-kb': 'draft-markdown', rows: '16', readonly: draft.readOnly, spellcheck: 'true' });
  markdown.value = draft.markdown;
  const channel = h(
    'select',
    { id: 'preview-channel', 'data-kb': 'preview-channel' },
    ...['chat', 'email', 'phone', 'social'].map((c) => h('option', { value: c, i18n: `channel.${c}` })),
  );
  const preview = h('div', { class: 'preview-pane', 'data-kb': 'preview', 'data-i18n-attr': 'aria-label:console.preview.title', role: 'region' });
  const state = h('p', { class: 'muted small', 'data-kb': 'preview-state' });
  let timer = 0;
  let asked = 0;
  async function update() {
    const mine = ++asked;
    if (!title.value.trim() || !markdown.value.trim()) {
      preview.replaceChildren(h('p', { class: 'muted', i18n: 'console.preview.empty' }));
      ctx.ui.refresh();
      return;
    }
    relabel(state, 'console.preview.updating');
    try {
      const result = await ctx.api.render({
        markdown: markdown.value,
        title: title.value.trim(),
        locale: draft.locale,
        channel: channel.value,
        article_id: draft.articleId || undefined,
      });
      if (mine !== asked) return; // a newer request is on its way
      preview.replaceChildren(...result.sections.map(section));
      preview.dataset.sections = String(result.sections.length);
      relabel(state, 'console.preview.updated', { n: result.sections.length });
    } catch (err) {
      if (mine === asked) relabel(state, ...describeError(err));
    }
  }
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  };
  title.addEventListener('input', schedule);
  markdown.addEventListener('input', schedule);
  channel.addEventListener('change', update);
  update();
  const element = h(
    'div',
    { class: 'editor' },
    h('div', { class: 'edit-pane' },
      h('label', { for: 'draft-title', i18n: 'console.draft.title' }),
      title,
      h('label', { for: 'draft-markdown', i18n: 'console.draft.markdown' }),
      markdown),
    h('div', {},
      h('div', { class: 'preview-head' },
        h('label', { for: 'preview-channel', i18n: 'console.preview.channel' }),
        channel),
      state,
      preview),
  );
  return { element, value: () => ({ title: title.value.trim(), markdown: markdown.value }) };
}

/** One section as the channel shows it. */
function section(item) {
  const r = item.rendering;
  const body =
    r.channel === 'chat' || r.channel === 'email'
      ? h('div', {}, r.subject ? h('p', { class: 'subject', text: r.subject }) : null, safeFragment(r.html))
      : h('p', { class: 'plain', text: r.channel === 'phone' ? r.script : r.text });
  return h('article', { class: `bubble ${r.channel}`, 'data-kb': 'preview-section' }, body);
}
