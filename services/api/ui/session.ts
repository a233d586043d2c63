/** The signed-in API key lives in sessionStorage: gone when the tab closes, never in a cookie. */
const KEY = 'niyanta.apiKey';

export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  signIn(key: string): void {
    sessionStorage.setItem(KEY, key);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
  },
};
