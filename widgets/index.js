// The list of channel tools, in the UI language (?lang=, the <select>, or the browser's).

import { LANGUAGES, pickLanguage, translate } from './shared/i18n.js';

const select = document.querySelector('[data-kb="lang"]');
const query = new URLSearchParams(location.search).get('lang');
let lang = pickLanguage(query, sessionStorage.getItem('kb.lang'), navigator.languages);
const refresh = () => {
  document.documentElement.lang = lang;
  translate(document, lang);
};
for (const [code, name] of Object.entries(LANGUAGES)) {
  select.append(new Option(name, code, false, code === lang));
}
select.addEventListener('change', () => {
  lang = select.value;
  sessionStorage.setItem('kb.lang', lang);
  refresh();
});
refresh();
