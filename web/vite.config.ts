/// <reference types="vitest/config" />
// Vite build of the editor (output: web/dist, served by the server at "/").
// `npm run dev` proxies the ComfyUI-compatible routes to a server on LATENTGRAPH_URL.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const backend =
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.LATENTGRAPH_URL ?? 'http://127.0.0.1:8188';
const routes = ['/object_info', '/prompt', '/queue', '/interrupt', '/history', '/view', '/upload', '/api'];

export default defineConfig({
  plugins: [react()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  server: {
    proxy: Object.fromEntries([
      ...routes.map((r) => [r, { target: backend }]),
      ['/ws', { target: backend.replace(/^http/, 'ws'), ws: true }],
    ]),
  },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
