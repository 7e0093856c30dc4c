// The public HTTP API, and only its documented endpoints. The key travels in the
// Authorization header, never in a URL.

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title);
    this.status = status; // 0: the service could not be reached
    this.title = title;
    this.detail = detail;
  }
}

/** A client for `base` ('' for this page's own origin) with one API key. */
export function createClient({ base = '', key }) {
  async function call(method, path, body) {
    const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
      });
    } catch (err) {
      throw new ApiError(0, 'network', String(err));
    }
    const data = await response.json().catch(() => null);
    // Errors are problem+json (RFC 9457): title and detail are meant for people.
    if (!response.ok) {
      throw new ApiError(response.status, data?.title ?? response.statusText, data?.detail ?? '');
    }
    return data;
  }
  const id = encodeURIComponent;
  return {
    call, // for pages with endpoints of their own (the editors' console: console/api.js)
    answer: (request) => call('POST', '/v1/answers', request),
    feedback: (answerId, rating) => call('POST', `/v1/answers/${id(answerId)}/feedback`, rating),
    timeline: (customerId) => call('GET', `/v1/customers/${id(customerId)}/timeline`),
  };
}

/** The i18n id and arguments that describe an error to a person. */
export function describeError(err) {
  if (err instanceof ApiError && err.status === 0) return ['error.network', {}];
  return ['error.api', { detail: err.detail || err.title || String(err) }];
}
