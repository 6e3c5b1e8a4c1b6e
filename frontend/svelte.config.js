// Svelte 5 strips TypeScript type annotations itself, so no preprocessor is needed
// (and none is wanted: it would slow builds and blur source maps). Avoid TS-only
// runtime features (enums, parameter properties) inside .svelte files.

/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  compilerOptions: {
    runes: true,
  },
};
