// <kb-chat>: the customer chat, in an open shadow root so the host page's CSS and ours never
// meet. A launcher button opens a dialog panel; answers are announced politely; no answer
// offers a person (the `kb-handoff` event tells the host page, which owns live chat).
//
// Attributes: api (base URL), locale (UI language), customer-id. Property: key (a bot key).
// Events: kb-answer {answer_id, status, article_id}, kb-handoff {question, answer_id, conversation_id}.

import { createClient, describeError } from '../shared/api.js';
import { alternatives, citation, feedback } from '../shared/answer-parts.js';
import { h, safeFragment } from '../shared/dom.js';
import { trapFocus } from '../shared/focus-trap.js';
import { pickLanguage, relabel, translate } from '../shared/i18n.js';

const LOW_CONFIDENCE = 0.6; // below this, the related articles are listed under the answer
const CONVERSATION = 'kb.chat.conversation';
const STYLESHEET = new URL('./widget.css', import.meta.url).href;

export class KbChat extends HTMLElement {
  key = '';
  #client = null;
  #lang = 'en';
  #parts = {};

  static observedAttributes = ['locale'];

  attributeChangedCallback(name, _old, value) {
    if (name !== 'locale' || !this.shadowRoot) return;
    this.#lang = pickLanguage(value, navigator.languages);
    this.shadowRoot.querySelector('.frame').setAttribute('lang', this.#lang);
    translate(this.shadowRoot, this.#lang);
  }

  connectedCallback() {
    if (this.shadowRoot) return; // moved in the page: keep the conversation on screen
    this.#lang = pickLanguage(this.getAttribute('locale'), navigator.languages);
    this.#client = createClient({ base: this.getAttribute('api') || '', key: this.key });
    const root = this.attachShadow({ mode: 'open' });
    const sheet = h('link', { rel: 'stylesheet', href: STYLESHEET });
    const frame = this.#build();
    // Shown once our styles are in, so the host page never sees an unstyled flash.
    frame.hidden = true;
    const show = () => { frame.hidden = false; };
    sheet.addEventListener('load', show);
    sheet.addEventListener('error', show);
    root.append(sheet, frame);
    translate(root, this.#lang);
  }

  #build() {
    const p = this.#parts;
    p.launcher = h('button', {
      type: 'button', class: 'launcher', 'data-kb': 'launcher', 'aria-expanded': 'false',
      'aria-controls': 'kb-panel', 'aria-haspopup': 'dialog', i18n: 'chat.launcher',
      on: { click: () => (p.panel.hidden ? this.open() : this.close()) },
    });
    p.messages = h('div', { class: 'messages', 'data-kb': 'messages' },
      h('div', { class: 'msg bot' }, h('p', { i18n: 'chat.welcome' })));
    p.announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', 'data-kb': 'announcer' });
    p.question = h('input', {
      id: 'kb-question', type: 'text', 'data-kb': 'question', autocomplete: 'off', maxlength: 2000,
      i18nAttr: 'placeholder:chat.placeholder',
    });
    p.ask = h('button', { class: 'send', 'data-kb': 'ask', i18n: 'chat.send' });
    const form = h('form', { class: 'ask', on: { submit: (e) => this.#submit(e) } },
      h('label', { class: 'sr-only', for: 'kb-question', i18n: 'chat.question' }), p.question, p.ask);
    p.panel = h('div', {
      id: 'kb-panel', class: 'panel', role: 'dialog', 'aria-modal': 'true',
      'aria-labelledby': 'kb-title', 'data-kb': 'panel', hidden: true,
    },
    h('div', { class: 'head' },
      h('h2', { id: 'kb-title', i18n: 'chat.title' }),
      h('button', {
        type: 'button', class: 'close', 'data-kb': 'close', i18nAttr: 'aria-label:chat.close',
        text: '×', on: { click: () => this.close() },
      })),
    p.messages, p.announcer, form);
    trapFocus(p.panel, () => this.close());
    return h('div', { class: 'frame', lang: this.#lang }, p.panel, p.launcher);
  }

  open() {
    const { panel, launcher, question } = this.#parts;
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    this.toggleAttribute('open', true);
    question.focus();
  }

  close() {
    const { panel, launcher } = this.#parts;
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    this.toggleAttribute('open', false);
    launcher.focus();
  }

  async #submit(event) {
    event.preventDefault();
    const { question, ask } = this.#parts;
    const text = question.value.trim();
    if (!text || ask.disabled) return;
    question.value = '';
    const you = h('span', { class: 'sr-only', i18n: 'chat.you' });
    this.#add(h('div', { class: 'msg you' }, you, h('p', { text })));
    const pending = this.#add(h('div', { class: 'msg bot pending', i18n: 'busy' }));
    ask.disabled = true;
    try {
      const response = await this.#client.answer({
        question: text,
        channel: 'chat',
        customer_id: this.getAttribute('customer-id') || undefined,
        conversation_id: conversationId(),
      });
      this.#show(pending, response);
    } catch (err) {
      const bubble = h('div', { class: 'msg bot error', role: 'alert' });
      pending.replaceWith(bubble);
      relabel(bubble, ...describeError(err));
    } finally {
      ask.disabled = false;
      question.focus();
    }
  }

  #show(pending, response) {
    const answered = response.status === 'answered';
    const body = h('div', { class: 'body' }, safeFragment(response.rendering.html));
    const bubble = answered ? this.#answer(response, body) : this.#handoff(response, body);
    pending.replaceWith(bubble);
    translate(bubble, this.#lang);
    bubble.scrollIntoView({ block: 'nearest' });
    this.#parts.announcer.textContent = body.textContent;
    this.dispatchEvent(new CustomEvent('kb-answer', {
      bubbles: true,
      detail: {
        answer_id: response.answer_id,
        status: response.status,
        article_id: response.answer?.article_id ?? null,
      },
    }));
  }

  #answer(response, body) {
    const rate = (helpful) => this.#client.feedback(response.answer_id, { helpful, channel: 'chat' });
    return h('div', { class: 'msg bot', 'data-kb': 'answer', 'data-answer-id': response.answer_id },
      body,
      response.confidence < LOW_CONFIDENCE ? alternatives(response.alternatives) : null,
      citation(response.answer),
      feedback(rate));
  }

  #handoff(response, body) {
    const done = h('p', { class: 'handoff-status', role: 'status' });
    const offer = h('button', {
      type: 'button', class: 'offer', 'data-kb': 'handoff-offer', i18n: 'handoff.offer',
      on: {
        click: () => {
          offer.disabled = true;
          relabel(done, 'handoff.requested');
          this.dispatchEvent(new CustomEvent('kb-handoff', {
            bubbles: true,
            detail: {
              question: response.question,
              answer_id: response.answer_id,
              conversation_id: conversationId(),
            },
          }));
        },
      },
    });
    const attributes = { class: 'msg bot handoff', 'data-kb': 'handoff', 'data-answer-id': response.answer_id };
    return h('div', attributes, body, offer, done);
  }

  #add(node) {
    this.#parts.messages.append(node);
    translate(node, this.#lang);
    node.scrollIntoView({ block: 'nearest' });
    return node;
  }
}

/** One id per conversation: kept for the browser tab (sessionStorage), sent with every question. */
function conversationId() {
  try {
    let id = sessionStorage.getItem(CONVERSATION);
    if (!id) sessionStorage.setItem(CONVERSATION, (id = `chat-${randomId()}`));
    return id;
  } catch {
    return (conversationId.fallback ??= `chat-${randomId()}`); // storage blocked by the site
  }
}

function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Add the widget to the page (called by widget.js with the <script> tag's data-* options). */
export function mount({ key, api = '', customerId = '', locale = '' }) {
  if (!customElements.get('kb-chat')) customElements.define('kb-chat', KbChat);
  const widget = document.createElement('kb-chat');
  widget.key = key;
  widget.setAttribute('api', api);
  if (customerId) widget.setAttribute('customer-id', customerId);
  if (locale) widget.setAttribute('locale', locale);
  const add = () => document.body.append(widget);
  if (document.body) add();
  else document.addEventListener('DOMContentLoaded', add, { once: true });
  return widget;
}
