// Social reply tool: a public-safe reply of at most 280 characters (the API never uses
// internal articles on the social channel), editable, with a live character counter.

import { alternatives, citation, confidence, feedback } from '../shared/answer-parts.js';
import { copy } from '../shared/clipboard.js';
import { h, safeUrl } from '../shared/dom.js';
import { relabel } from '../shared/i18n.js';
import { startTool } from '../shared/tool.js';

const MAX = 280; // the server's limit for rendering.text, counted the same way (code points)
const ANNOUNCE_AFTER_MS = 800; // announce the count once typing pauses, not on every key
const $ = (name) => document.querySelector(`[data-kb="${name}"]`);
const length = (text) => [...text].length;

startTool((ui) => {
  $('ask-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const question = $('question').value.trim();
    if (!question) return;
    ui.busy(true);
    try {
      show(await ui.client.answer({ question, channel: 'social' }));
    } catch (err) {
      ui.fail(err);
    } finally {
      ui.busy(false);
    }
  });

  function show(response) {
    const { answer } = response;
    const { parts: editor, count } = replyEditor(response.rendering.text);
    const rate = (helpful) => ui.client.feedback(response.answer_id, { helpful, channel: 'social' });
    const parts = answer
      ? [...editor, articleLink(answer), citation(answer), confidence(response.confidence), feedback(rate)]
      : [handoff(response), ...editor, alternatives(response.alternatives)];
    $('result').replaceChildren(...parts.filter(Boolean));
    $('result').hidden = false;
    ui.refresh();
    count(false);
    ui.onLanguage = () => count(false);
  }

  /** The editable reply, its counter (seen) and its announcement (heard, when typing pauses). */
  function replyEditor(text) {
    const reply = h('textarea', { id: 'reply', 'data-kb': 'reply', rows: 5, 'aria-describedby': 'counter' });
    reply.value = text;
    const counter = h('span', { id: 'counter', class: 'counter', 'data-kb': 'counter' });
    const spoken = h('span', { class: 'sr-only', 'aria-live': 'polite', 'data-kb': 'counter-live' });
    const status = h('span', { role: 'status', class: 'muted' });
    let timer;
    const count = (announce) => {
      const used = length(reply.value);
      counter.textContent = ui.t('social.counter', { count: used, max: MAX });
      counter.classList.toggle('over', used > MAX);
      reply.setAttribute('aria-invalid', String(used > MAX));
      clearTimeout(timer);
      const [id, args] = used > MAX ? ['social.over', { over: used - MAX }] : ['social.left', { left: MAX - used }];
      if (announce) timer = setTimeout(() => relabel(spoken, id, args), ANNOUNCE_AFTER_MS);
    };
    reply.addEventListener('input', () => count(true));
    const copyReply = async () => relabel(status, (await copy({ text: reply.value })) ? 'email.copied' : 'email.copy_failed');
    const parts = [
      h('label', { for: 'reply', i18n: 'social.reply', args: { max: MAX } }),
      reply,
      h('div', { class: 'actions' },
        counter,
        spoken,
        h('button', { type: 'button', 'data-kb': 'copy-text', i18n: 'social.copy', on: { click: copyReply } }),
        status),
    ];
    return { parts, count };
  }

  function articleLink(answer) {
    const href = safeUrl(answer.url);
    if (!href) return null;
    const link = h('a', { href, target: '_blank', rel: 'noopener noreferrer', 'data-kb': 'article-link', text: href });
    return h('p', {}, h('span', { i18n: 'social.link' }), ': ', link);
  }

  function handoff(response) {
    return h('div', { class: 'handoff', 'data-kb': 'handoff' },
      h('p', {}, h('strong', { i18n: 'noanswer.agent' })),
      h('p', { text: response.handoff?.suggestion ?? '' }));
  }
});
