// The Debian packages the test suite and `npm start` rely on, and how to tell whether they are here.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export const DEBIAN_PACKAGES = ['chromium', 'socat', 'postgresql', 'libudev1', 'libusb-1.0-0'];

function dpkgInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

const probes = {
  chromium: () => existsSync('/usr/bin/chromium'),
  socat: () => spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0,
  postgresql: () =>
    existsSync('/usr/lib/postgresql') &&
    readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`)) &&
    spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status === 0,
  libudev1: () => dpkgInstalled('libudev1'),
  'libusb-1.0-0': () => dpkgInstalled('libusb-1.0-0'),
};

export function missingDebianPackages() {
  return DEBIAN_PACKAGES.filter((name) => !probes[name]());
}

/** Installs what is missing when we are root with apt-get; otherwise says in one line what to run. */
export function ensureDebianPackages({ required = DEBIAN_PACKAGES } = {}) {
  const missing = missingDebianPackages().filter((p) => required.includes(p));
  if (missing.length === 0) return true;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    console.error(
      `Missing Debian packages; install them first: sudo apt-get install -y ${missing.join(' ')}`,
    );
    return false;
  }
  console.log(`Installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
  const still = missingDebianPackages().filter((p) => required.includes(p));
  if (still.length) {
    console.error(`These Debian packages are still missing after apt-get: ${still.join(' ')}`);
    return false;
  }
  return true;
}
