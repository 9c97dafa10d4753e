// Server only: asks the hub where its history stands (GET /api/v1/position, with the API key).
// Called before the render reads any data, so every event published after that data was read
// is after this position and is replayed when the browser's socket connects.
import type { ResumePosition } from '@nudge/react-query'

export async function hubPosition(hubUrl: string, apiKey: string): Promise<ResumePosition | null> {
  try {
    const response = await fetch(`${hubUrl}/api/v1/position`, {
      headers: { authorization: `Bearer ${apiKey}` },
      cache: 'no-store',
    })
    if (response.ok) return (await response.json()) as ResumePosition
    // 409 recovery_off: start nudged with --recovery on. Without a position the page still
    // works; what is published between this render and the socket's connect is then missed.
    console.error(`example: the hub's position is unavailable (${response.status}): ${await response.text()}`)
  } catch (error) {
    console.error(`example: cannot reach the hub at ${hubUrl} for its position:`, error)
  }
  return null
}
