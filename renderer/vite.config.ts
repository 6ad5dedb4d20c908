import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { offlineShellPlugin } from './offline-plugin.ts';

// base './': Electron loads the build from file://, the sync server serves it at '/'.
export default defineConfig(({ command }) => {
  // A build started from a test runner inherits NODE_ENV=test, which would give a development
  // React and no service worker; only an explicit NODE_ENV=development build stays development.
  if (command === 'build' && process.env.NODE_ENV !== 'development') process.env.NODE_ENV = 'production';
  return {
    base: './',
    plugins: [react(), offlineShellPlugin()],
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      sourcemap: false,
      target: 'es2022',
      chunkSizeWarningLimit: 1500,
    },
    server: {
      port: 5173,
      proxy: { '/api': 'http://127.0.0.1:8787', '/health': 'http://127.0.0.1:8787' },
    },
  };
});
