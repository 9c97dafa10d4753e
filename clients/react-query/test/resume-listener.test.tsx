// The browser's default resume signals (pageResumeListener, from the core) in jsdom: the page
// becoming visible and `pageshow` call resume; becoming hidden does not; the cleanup detaches.
import { afterEach, expect, it, vi } from 'vitest'
import { pageResumeListener } from '../src/index.js'

const setVisibility = (state: DocumentVisibilityState): void => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
  document.dispatchEvent(new Event('visibilitychange'))
}

afterEach(() => setVisibility('visible'))

it('calls resume when the page becomes visible or is shown, until cleaned up', () => {
  const resume = vi.fn()
  const stop = pageResumeListener(resume)
  setVisibility('hidden')
  expect(resume).not.toHaveBeenCalled()
  setVisibility('visible')
  expect(resume).toHaveBeenCalledTimes(1)
  window.dispatchEvent(new Event('pageshow'))
  expect(resume).toHaveBeenCalledTimes(2)
  stop()
  setVisibility('hidden')
  setVisibility('visible')
  window.dispatchEvent(new Event('pageshow'))
  expect(resume).toHaveBeenCalledTimes(2)
})
