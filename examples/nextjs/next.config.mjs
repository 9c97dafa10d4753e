// The hub and backend URLs are read at request time (lib/config.ts), so one build serves any.
/** @type {import('next').NextConfig} */
const nextConfig = { reactStrictMode: true }
export default nextConfig
