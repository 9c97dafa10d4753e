// Passwords (scrypt) and the HS256 JWTs the bank issues at login. The hub verifies the same
// tokens with the same secret: `sub` is the user id, so the socket joins room `user_<sub>`.
import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export function hashPassword(password) {
  const salt = randomBytes(16);
  return `${salt.toString('base64')}:${scryptSync(password, salt, 32).toString('base64')}`;
}

export function verifyPassword(password, stored) {
  const [salt, hash] = stored.split(':').map((part) => Buffer.from(part, 'base64'));
  return timingSafeEqual(scryptSync(password, salt, 32), hash);
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const sign = (input, secret) => createHmac('sha256', secret).update(input).digest();

export function signToken({ sub, secret, ttlSeconds }) {
  const now = Math.floor(Date.now() / 1000);
  const payload = Buffer.from(JSON.stringify({ sub: String(sub), iat: now, exp: now + ttlSeconds })).toString(
    'base64url',
  );
  return `${HEADER}.${payload}.${sign(`${HEADER}.${payload}`, secret).toString('base64url')}`;
}

/** The token's `sub`, or `null` when it is not ours, was tampered with or has expired. */
export function verifyToken(token, secret) {
  const [header, payload, signature, extra] = String(token).split('.');
  if (header !== HEADER || !payload || !signature || extra !== undefined) return null;
  const expected = sign(`${header}.${payload}`, secret);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let claims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch {
    return null;
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return null;
  return typeof claims.sub === 'string' ? claims.sub : null;
}
