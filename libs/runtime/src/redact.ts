/** What stands in for a password or a secret value in messages and logs. */
export const REDACTED = '***';

// `scheme://user:password@` in text that is not a parseable URL.
const USERINFO_RE = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/;

/**
 * The URL with its password replaced by `***`, for messages and logs. Text that does not parse as
 * a URL still has a `scheme://user:password@` prefix masked.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = REDACTED;
    return u.toString();
  } catch {
    return url.replace(USERINFO_RE, `$1:${REDACTED}@`);
  }
}
