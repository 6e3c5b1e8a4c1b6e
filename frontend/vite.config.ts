import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig, type Plugin } from 'vitest/config';

const outDir = resolve(import.meta.dirname, 'dist');

// Go embeds `all:frontend/dist`, which must exist even before the first build, so the
// repository tracks dist/.gitkeep. Vite empties dist/ on every build; put the file back.
function keepGitkeep(): Plugin {
  return {
    name: 'shoplogin-keep-gitkeep',
    apply: 'build',
    closeBundle() {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(resolve(outDir, '.gitkeep'), '');
    },
  };
}

// `npm run dev` in a browser against `shoplogin serve`: SHOPLOGIN_DEV_API=http://127.0.0.1:8080
const devApi = process.env['SHOPLOGIN_DEV_API'];

export default defineConfig({
  plugins: [svelte(), svelteTesting(), keepGitkeep()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2020',
    // The website is served with `default-src 'self'`: no inline scripts, no data: URLs.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: devApi
    ? { proxy: { '/api': { target: devApi, changeOrigin: false } } }
    : {},
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.ts'],
    restoreMocks: true,
  },
});
