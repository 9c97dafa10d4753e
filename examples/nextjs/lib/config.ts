// Server only: where the hub and the backend are (read per request, so one build runs anywhere).
export const serverConfig = () => ({
  /** Where browsers connect and where the server asks for the position. */
  hubUrl: process.env.NUDGE_URL ?? 'http://127.0.0.1:8080',
  apiKey: process.env.NUDGE_API_KEY ?? 'nudge-dev-api-key',
  /** The REST API (backend.mjs here), for the server render and for the browser. */
  backendUrl: process.env.BACKEND_URL ?? 'http://127.0.0.1:4000',
})
