// The endpoints the console uses, all documented in the OpenAPI document. Built on the shared
// client, so the key travels only in the Authorization header.

const id = encodeURIComponent;
const query = (params) => {
  const clean = Object.entries(params).filter(([, v]) => v !== '' && v !== undefined && v !== null && v !== false);
  return clean.length ? `?${new URLSearchParams(clean)}` : '';
};

/** Console calls on top of `client` (shared/api.js). */
export function consoleApi(client) {
  const { call } = client;
  const tr = (article, locale) => `/v1/articles/${id(article)}/translations/${id(locale)}`;
  return {
    articles: (filters) => call('GET', `/v1/articles${query({ limit: 200, ...filters })}`),
    article: (article) => call('GET', `/v1/articles/${id(article)}`),
    create: (body) => call('POST', '/v1/articles', body),
    updateMeta: (article, body) => call('PATCH', `/v1/articles/${id(article)}`, body),
    saveDraft: (article, locale, body) => call('PUT', `${tr(article, locale)}/draft`, body),
    step: (article, locale, step, body) => call('POST', `${tr(article, locale)}/${step}`, body),
    impact: (article, locale) => call('GET', `${tr(article, locale)}/impact?limit=20`),
    versions: (article, locale) => call('GET', `${tr(article, locale)}/versions`),
    version: (article, locale, n) => call('GET', `${tr(article, locale)}/versions/${id(n)}`),
    rollback: (article, locale, n) => call('POST', `${tr(article, locale)}/rollback`, { to_version: n }),
    render: (body) => call('POST', '/v1/render', body),
    articlePhrasings: (article) => call('GET', `/v1/articles/${id(article)}/phrasings`),
    suggested: () => call('GET', '/v1/phrasings?status=suggested'),
    judge: (phrasing, verdict) => call('POST', `/v1/phrasings/${id(phrasing)}/${verdict}`),
    stale: () => call('GET', '/v1/insights/stale?limit=200'),
    topics: (days) => call('GET', `/v1/insights/topics${query({ days, limit: 8 })}`),
    answered: (days) => call('GET', `/v1/insights/answered${query({ days })}`),
    gaps: (days) => call('GET', `/v1/insights/gaps${query({ days, limit: 20 })}`),
  };
}
