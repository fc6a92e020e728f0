import { defineConfig } from 'vite';

// The console is served by the Tessera server at /ui (ADR 0022). No plugin: esbuild compiles the
// JSX for Preact; hashed file names let the server cache assets for a year.
export default defineConfig({
  base: '/ui/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline script anywhere: the strict CSP (script-src 'self') would refuse it.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
