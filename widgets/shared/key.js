// The page contract for keys: `#key=...` in the address is taken once, kept in sessionStorage
// (this tab only; never localStorage, never in a URL the server sees) and removed from the
// address bar, so it does not linger in history or get copied along with a link.

export const AGENT_KEY = 'kb.agentKey';

/** The key from the fragment (stored, then removed from the address bar) or from storage. */
export function takeKey(storageName = AGENT_KEY) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromFragment = fragment.get('key');
  if (fromFragment) {
    sessionStorage.setItem(storageName, fromFragment);
    fragment.delete('key');
    const rest = fragment.toString();
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  }
  return sessionStorage.getItem(storageName);
}

export function saveKey(key, storageName = AGENT_KEY) {
  sessionStorage.setItem(storageName, key);
}

export function forgetKey(storageName = AGENT_KEY) {
  sessionStorage.removeItem(storageName);
}
