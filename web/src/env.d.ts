/// <reference types="vite/client" />
// Vite client types: lets TypeScript accept the CSS imports of the dashboard.
