// Email reply drafter: the customer's email in, the email rendering out (subject, greeting,
// body and sign-off in the email's language), with copy buttons and the article it came from.

import { alternatives, citation, confidence, feedback } from '../shared/answer-parts.js';
import { copy } from '../shared/clipboard.js';
import { h, safeFragment } from '../shared/dom.js';
import { relabel } from '../shared/i18n.js';
import { startTool } from '../shared/tool.js';

const $ = (name) => document.querySelector(`[data-kb="${name}"]`);

startTool((ui) => {
  $('ask-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const question = $('question').value.trim();
    if (question) draft({ question });
  });

  async function draft(request, wanted = null) {
    ui.busy(true);
    try {
      const customer = $('customer-id').value.trim() || undefined;
      const response = await ui.client.answer({ ...request, channel: 'email', customer_id: customer });
      // Switching to an alternative asks again with its title; if search picks another
      // article after all, say so instead of passing that off as the chosen one.
      if (wanted && response.answer?.article_id !== wanted.article_id) {
        $('error').hidden = false;
        return relabel($('error'), 'email.switch_failed');
      }
      show(response, wanted);
    } catch (err) {
      ui.fail(err);
    } finally {
      ui.busy(false);
    }
  }

  function show(response, wanted) {
    const parts = response.status === 'answered' ? answered(response, wanted) : [handoff(response)];
    $('result').replaceChildren(...parts);
    $('result').hidden = false;
    ui.refresh();
    $('result').querySelector('input, button')?.focus();
  }

  function answered(response, wanted) {
    const { rendering, answer } = response;
    const status = h('span', { role: 'status', class: 'muted' });
    const copyButton = (id, kb, content) =>
      h('button', {
        type: 'button',
        'data-kb': kb,
        i18n: id,
        on: {
          click: async () => relabel(status, (await copy(content)) ? 'email.copied' : 'email.copy_failed'),
        },
      });
    return [
      wanted ? h('p', { class: 'muted', i18n: 'email.switched', args: { key: wanted.key } }) : null,
      h('label', { for: 'subject', i18n: 'email.subject' }),
      h('input', { id: 'subject', type: 'text', 'data-kb': 'subject', value: rendering.subject }),
      h('p', { class: 'field-title', i18n: 'email.body' }),
      h('div', { class: 'preview', 'data-kb': 'reply-html' }, safeFragment(rendering.html)),
      h('details', {},
        h('summary', { i18n: 'email.text' }),
        h('pre', { 'data-kb': 'reply-text', text: rendering.text })),
      h(
        'div',
        { class: 'actions' },
        // Rich text for a mail editor; the HTML source where only plain text can be pasted.
        copyButton('email.copy_html', 'copy-html', { text: rendering.html, html: rendering.html }),
        copyButton('email.copy_text', 'copy-text', { text: rendering.text }),
        status,
      ),
      citation(answer),
      confidence(response.confidence),
      feedback((helpful) => ui.client.feedback(response.answer_id, { helpful, channel: 'email' })),
      alternatives(response.alternatives, (alt) =>
        draft({ question: [alt.title, ...alt.heading_path].join(' — '), locale: answer.locale }, alt),
      ),
    ].filter(Boolean);
  }

  function handoff(response) {
    return h(
      'div',
      { class: 'handoff', 'data-kb': 'handoff' },
      h('p', {}, h('strong', { i18n: 'noanswer.agent' })),
      h('p', { text: response.handoff?.suggestion ?? '' }),
      h('div', { class: 'preview' }, safeFragment(response.rendering.html)),
      alternatives(response.alternatives),
    );
  }
});
