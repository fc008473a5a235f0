import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Debian's chromium, installed when missing the way infra/local.sh installs its packages (apt-get
 * as root); CHROMIUM_PATH points at another build. Playwright never downloads a browser here.
 */
export function chromiumExecutable(): string {
  const given = process.env['CHROMIUM_PATH'];
  if (given !== undefined && given !== '') return given;
  const debian = '/usr/bin/chromium';
  if (existsSync(debian)) return debian;
  if (process.getuid?.() !== 0) throw new Error('the browser tests need Chromium: sudo apt-get install -y chromium (or set CHROMIUM_PATH)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env, stdio: 'inherit' });
  try {
    install();
  } catch {
    // A fresh machine's package lists may be missing or stale.
    execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
    install();
  }
  return debian;
}
