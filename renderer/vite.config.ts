import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { offlineShellPlugin } from './offline-plugin.ts';

// base './': Electron loads the build from file://, the sync server serves it at '/'.
export default defineConfig({
  base: './',
  plugins: [react(), offlineShellPlugin()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: {
    port: 5173,
    proxy: { '/api': 'http://127.0.0.1:8787', '/health': 'http://127.0.0.1:8787' },
  },
});
