// The Redis broker's Lua scripts. Each runs atomically in Redis, which is what makes positions
// exact: an event's sequence number, its idempotency id, its history entries and (on a single
// Redis) its pub/sub messages are one step, so a subscriber sees events in position order and a
// recovery query sees either all of an event or none of it.
//
// Keys (all with the hash tag {nudge}, so in a Redis Cluster they share one slot: the node that
// owns it is the ordering point; pub/sub fan-out is spread over the nodes):
//   {nudge}:epoch    the history's epoch; gone (a Redis restart without persistence, a flush)
//                    → a fresh one is set: positions of the old epoch resync
//   {nudge}:seq      the last position handed out (INCR)
//   {nudge}:id:<id>  an idempotency id → the position of its event (expires after the window)
//   {nudge}:h:<room> a room's history: a stream, entry id <seq>-0, field m = the event message;
//                    trimmed to the history size (MAXLEN), expires after 10 × the history TTL
//                    of silence
//   {nudge}:clock    sorted set: second (member) → first position handed out in it (score),
//                    so recovery can tell whether a room whose history expired had events after
//                    a position
// Channels: nudge:r:<room> (events), nudge:ops (membership operations).
#pragma once

#include <string_view>

namespace nudge::broker::scripts {

// Shared by both scripts: the current epoch (set from ARGV[1] when missing) and the Redis time.
inline constexpr std::string_view kPrelude = R"lua(
local epoch = redis.call('GET', '{nudge}:epoch')
local t = redis.call('TIME')
local now_s = tonumber(t[1])
local now_ms = now_s * 1000 + math.floor(tonumber(t[2]) / 1000)
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', '{nudge}:epoch', epoch)
  redis.call('DEL', '{nudge}:seq', '{nudge}:clock')
  redis.call('ZADD', '{nudge}:clock', 0, tostring(now_s))
end
)lua";

// KEYS[1] = {nudge}:seq (routing only). ARGV: 1 fresh epoch, 2 history size (0: no history),
// 3 history expiry ms, 4 idempotency window ms, 5 publish inside (1: PUBLISH each room's
// message here; 0: the hub SPUBLISHes them), 6 clock seconds to keep, 7 event count, then per
// event: id, body, room count, rooms...
// Returns {epoch, now_ms, seq1, duplicate1 (0/1), seq2, duplicate2, ...}.
inline constexpr std::string_view kPublish = R"lua(
local history = tonumber(ARGV[2])
local expiry = ARGV[3]
local window = ARGV[4]
local inside = ARGV[5] == '1'
local out = {epoch, now_ms}
local i = 8
local clocked = false
for _ = 1, tonumber(ARGV[7]) do
  local id, body, nrooms = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local seq, dup = nil, 0
  if id ~= '' then
    local earlier = redis.call('GET', '{nudge}:id:' .. id)
    if earlier then seq, dup = tonumber(earlier), 1 end
  end
  if dup == 0 then
    seq = redis.call('INCR', '{nudge}:seq')
    if id ~= '' then redis.call('SET', '{nudge}:id:' .. id, seq, 'PX', window) end
    if not clocked and history > 0 then
      clocked = true
      if redis.call('ZADD', '{nudge}:clock', 'NX', seq, tostring(now_s)) == 1 then
        redis.call('ZREMRANGEBYRANK', '{nudge}:clock', 0, -tonumber(ARGV[6]) - 1)
      end
    end
    local message = epoch .. ' ' .. seq .. ' ' .. now_ms .. ' ' .. body
    for r = i + 3, i + 2 + nrooms do
      if history > 0 then
        local key = '{nudge}:h:' .. ARGV[r]
        redis.pcall('XADD', key, 'MAXLEN', history, seq .. '-0', 'm', message)
        redis.call('PEXPIRE', key, expiry)
      end
      if inside then redis.call('PUBLISH', 'nudge:r:' .. ARGV[r], message) end
    end
  end
  out[#out + 1] = seq
  out[#out + 1] = dup
  i = i + 3 + nrooms
end
return out
)lua";

// KEYS[1] = {nudge}:seq. ARGV: 1 fresh epoch, 2 the client's epoch ('' for a new session: the
// position only), 3 its seq, 4 max replay, 5 history expiry seconds, then the rooms.
// Returns {epoch, seq now, now_ms, lost rooms {...}, messages {...}}: the messages of the rooms
// after the client's position (each room's, in order; the caller merges, de-duplicates and
// checks their age); a room is lost when its history was trimmed past the position, holds more
// than max replay, or expired while the position may be older than its last event.
inline constexpr std::string_view kRecover = R"lua(
local now = tonumber(redis.call('GET', '{nudge}:seq') or '0')
local out = {epoch, now, now_ms}
if ARGV[2] == '' then return out end
local from = tonumber(ARGV[3])
local lost, messages = {}, {}
if ARGV[2] ~= epoch or from == nil or from > now then
  for r = 6, #ARGV do lost[#lost + 1] = ARGV[r] end
  out[4], out[5] = lost, messages
  return out
end
local max_replay = tonumber(ARGV[4])
local expiry_s = tonumber(ARGV[5])
for r = 6, #ARGV do
  local room = ARGV[r]
  local key = '{nudge}:h:' .. room
  if redis.call('EXISTS', key) == 1 then
    local info = redis.call('XINFO', 'STREAM', key)
    local length, added, first = 0, 0, nil
    for f = 1, #info, 2 do
      if info[f] == 'length' then length = info[f + 1]
      elseif info[f] == 'entries-added' then added = info[f + 1]
      elseif info[f] == 'recorded-first-entry-id' then first = tonumber(string.match(info[f + 1], '^(%d+)')) end
    end
    if added > length and first ~= nil and from + 1 < first then
      lost[#lost + 1] = room
    else
      local entries = redis.call('XRANGE', key, '(' .. from .. '-0', '+', 'COUNT', max_replay + 1)
      if #entries > max_replay then
        lost[#lost + 1] = room
      else
        for _, entry in ipairs(entries) do messages[#messages + 1] = entry[2][2] end
      end
    end
  else
    -- No history: no event in the room for 10 × the TTL, or never. The position is safe when
    -- it is younger than that (an event after it would have kept the history alive).
    local at = redis.call('ZREVRANGEBYSCORE', '{nudge}:clock', from, '-inf', 'LIMIT', 0, 1)
    if #at == 0 or now_ms / 1000 - tonumber(at[1]) >= expiry_s then lost[#lost + 1] = room end
  end
end
out[4], out[5] = lost, messages
return out
)lua";

}  // namespace nudge::broker::scripts
