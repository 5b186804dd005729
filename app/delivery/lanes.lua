-- Herald's delivery lanes in Redis: the algorithm of app/delivery/lanes.py (LocalLanes),
-- line for line, over these keys (P is the prefix):
--   P..'tenants'        ZSET tenant -> score (µs: when next worth looking at)
--   P..'ring:'..T       ZSET endpoint -> score, the lanes of tenant T
--   P..'lane:'..E       HASH t tenant, r rate/s (0: none), b grid base µs, c next slot,
--                            n in flight, v version, g gate µs
--   P..'tif'            HASH tenant -> in flight
--   P..'pumps'          ZSET worker -> heartbeat expiry µs
--   P..'held:'..W       HASH 'e:'..E / 't:'..T -> what worker W holds
--   P..'wake'           LIST tokens that wake a waiting worker
-- ARGV: operation, prefix, JSON arguments, now in µs ('' for Redis's clock).
-- Every number is an integer below 2^53; each is passed to Redis through s(), because
-- Lua's own number formatting keeps only 14 digits.
local op, P, args = ARGV[1], ARGV[2], cjson.decode(ARGV[3])
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local L = args.limits
local US, REBASE, LANE_TTL_S = 1000000, 100000, 7 * 86400
local HALF = math.floor(L.horizon_us / 2)

local function s(x) return string.format('%d', x) end
local TENANTS, TIF, PUMPS, WAKE = P .. 'tenants', P .. 'tif', P .. 'pumps', P .. 'wake'
local function ring_key(t) return P .. 'ring:' .. t end
local function lane_key(e) return P .. 'lane:' .. e end
local function held_key(w) return P .. 'held:' .. w end

local function zscore(key, member)
  local v = redis.call('ZSCORE', key, member)
  if v then return tonumber(v) end
  return nil
end

local function zmin(key)
  local r = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if r[1] then return tonumber(r[2]) end
  return nil
end

-- The member with the lowest score <= upto that is not in skip (ties by member).
local function first_due(key, upto, skip)
  local taken = 0
  if skip then for _ in pairs(skip) do taken = taken + 1 end end
  local r = redis.call('ZRANGEBYSCORE', key, '-inf', s(upto), 'LIMIT', 0, taken + 1)
  for _, member in ipairs(r) do
    if not (skip and skip[member]) then return member end
  end
  return nil
end

local function load_lane(e)
  local f = redis.call('HMGET', lane_key(e), 't', 'r', 'b', 'c', 'n', 'v', 'g')
  return {t = f[1] or '', r = tonumber(f[2] or '0'), b = tonumber(f[3] or '0'),
          c = tonumber(f[4] or '0'), n = tonumber(f[5] or '0'), v = tonumber(f[6] or '0'),
          g = tonumber(f[7] or '0')}
end

local function save_lane(e, lane)
  redis.call('HSET', lane_key(e), 't', lane.t, 'r', s(lane.r), 'b', s(lane.b), 'c', s(lane.c),
             'n', s(lane.n), 'v', s(lane.v), 'g', s(lane.g))
  redis.call('EXPIRE', lane_key(e), LANE_TTL_S)
end

local function next_slot(lane) return lane.b + math.floor(lane.c * US / lane.r) end

local function add_tif(t, delta)
  local left = tonumber(redis.call('HGET', TIF, t) or '0') + delta
  if left > 0 then redis.call('HSET', TIF, t, s(left)) else redis.call('HDEL', TIF, t) end
end

local function rescore(t, floor)
  local m = zmin(ring_key(t))
  if m == nil then
    redis.call('ZREM', TENANTS, t)
    return
  end
  redis.call('ZADD', TENANTS, s(math.max(floor, m)), t)
end

local function unhold(e, t, count)
  local lane = nil
  if redis.call('EXISTS', lane_key(e)) == 1 then
    lane = load_lane(e)
    lane.n = math.max(0, lane.n - count)
    redis.call('HSET', lane_key(e), 'n', s(lane.n))
  end
  add_tif(t, -count)
  if lane == nil then return end
  local current = zscore(ring_key(t), e)
  if current == nil then return end
  local natural = math.max(now, lane.g)
  if lane.r > 0 then natural = math.max(natural, next_slot(lane) - L.lead_us - HALF) end
  if natural < current then redis.call('ZADD', ring_key(t), s(natural), e) end
  local ts = zscore(TENANTS, t)
  if ts ~= nil then
    local want = math.max(now, zmin(ring_key(t)))
    if want < ts then redis.call('ZADD', TENANTS, s(want), t) end
  end
end

local function release(w, releases)
  redis.call('ZADD', PUMPS, s(now + L.pump_ttl_us), w)
  for _, r in ipairs(releases) do
    local e, t, count = r[1], r[2], r[3]
    for _, field in ipairs({'e:' .. e, 't:' .. t}) do
      local left = tonumber(redis.call('HGET', held_key(w), field) or '0') - count
      if left > 0 then
        redis.call('HSET', held_key(w), field, s(left))
      else
        redis.call('HDEL', held_key(w), field)
      end
    end
    unhold(e, t, count)
  end
end

local function hold(w, e, t, count)
  redis.call('HINCRBY', lane_key(e), 'n', count)
  add_tif(t, count)
  redis.call('HINCRBY', held_key(w), 'e:' .. e, count)
  redis.call('HINCRBY', held_key(w), 't:' .. t, count)
end

local function reap()
  local dead = first_due(PUMPS, now, nil)
  if not dead then return end
  local held = redis.call('HGETALL', held_key(dead))
  redis.call('DEL', held_key(dead))
  redis.call('ZREM', PUMPS, dead)
  for i = 1, #held, 2 do
    local kind, id, count = string.sub(held[i], 1, 1), string.sub(held[i], 3), tonumber(held[i + 1])
    if kind == 'e' then
      if redis.call('EXISTS', lane_key(id)) == 1 then
        local n = tonumber(redis.call('HGET', lane_key(id), 'n') or '0')
        redis.call('HSET', lane_key(id), 'n', s(math.max(0, n - count)))
      end
    else
      add_tif(id, -count)
    end
  end
end

-- A grant of lane e (or nil) and the lane's next score.
local function grant(e, t, clock, room)
  local lane = load_lane(e)
  if lane.g > now then return nil, lane.g end
  room = math.min(room, L.lane_quantum, L.endpoint_in_flight - lane.n)
  if room <= 0 then return nil, now + L.park_us end
  if lane.r == 0 then return {e, t, room, lane.v, 0, 0, 0}, clock end
  local lead = L.lead_us
  if lane.n > 0 then lead = 0 end
  if next_slot(lane) < now + lead then
    lane.b, lane.c = now + lead, 0
  elseif lane.c >= REBASE then
    lane.b, lane.c = next_slot(lane), 0
  end
  local reach = now + L.lead_us + L.horizon_us
  if next_slot(lane) > reach then
    save_lane(e, lane)
    return nil, next_slot(lane) - L.lead_us - HALF
  end
  local last = math.floor(((reach - lane.b + 1) * lane.r - 1) / US)
  local count = math.min(room, last - lane.c + 1)
  local g = {e, t, count, lane.v, lane.r, lane.b, lane.c}
  lane.c = lane.c + count
  save_lane(e, lane)
  return g, math.max(clock, next_slot(lane) - L.lead_us - HALF)
end

local function pop(w, budget, releases)
  release(w, releases)
  reap()
  local grants = {}
  local clock, visits = now, 0
  while budget > 0 and visits < L.max_visits do
    local t = first_due(TENANTS, clock, nil)
    if not t then break end
    visits, clock = visits + 1, clock + 1
    local room = math.min(budget, L.tenant_quantum,
                          L.tenant_in_flight - tonumber(redis.call('HGET', TIF, t) or '0'))
    if room <= 0 then
      redis.call('ZADD', TENANTS, s(now + L.park_us), t)
    else
      local served, spent = {}, 0
      while spent < room and visits < L.max_visits do
        local e = first_due(ring_key(t), clock, served)
        if not e then break end
        visits, clock = visits + 1, clock + 1
        served[e] = true
        local g, score = grant(e, t, clock, room - spent)
        redis.call('ZADD', ring_key(t), s(score), e)
        if g then
          table.insert(grants, g)
          spent = spent + g[3]
          hold(w, e, t, g[3])
        end
      end
      budget = budget - spent
      rescore(t, clock)
    end
  end
  local next_us = zmin(TENANTS)
  if next_us ~= nil and next_us <= now then
    redis.call('LPUSH', WAKE, '1')
    redis.call('LTRIM', WAKE, 0, 63)
  end
  return {grants, now, next_us or -1}
end

local function touch(work)
  for _, item in ipairs(work) do
    local t, e, rate, due, reopen = item[1], item[2], item[3], item[4], item[5]
    local lane = load_lane(e)
    lane.t = t
    if rate ~= lane.r then
      if lane.r > 0 then lane.b, lane.c = next_slot(lane), 0 end
      lane.r = rate
    end
    lane.v = lane.v + 1
    if reopen == 1 then lane.g = 0 end
    save_lane(e, lane)
    local score = math.max(due, lane.g)
    local current = zscore(ring_key(t), e)
    if current == nil or score < current then redis.call('ZADD', ring_key(t), s(score), e) end
    local ts = zscore(TENANTS, t)
    if ts == nil or score < ts then redis.call('ZADD', TENANTS, s(score), t) end
  end
  redis.call('LPUSH', WAKE, '1')
  redis.call('LTRIM', WAKE, 0, 63)
  return now
end

local function settle(w, settlements)
  for _, item in ipairs(settlements) do
    local e, t, count, version, rate, base, first = item[1], item[2], item[3], item[4],
                                                     item[5], item[6], item[7]
    local used, verdict, gate = item[8], item[9], item[10]
    if redis.call('EXISTS', lane_key(e)) == 1 then
      local lane = load_lane(e)
      local unused = count - used
      if unused > 0 then
        if rate > 0 and lane.b == base and lane.c == first + count then
          redis.call('HSET', lane_key(e), 'c', s(first + used))
        end
        release(w, {{e, t, unused}})
      end
      local current = zscore(ring_key(t), e)
      if current ~= nil then
        if (verdict == 'dry' or verdict == 'park') and lane.v == version then
          redis.call('ZREM', ring_key(t), e)
          rescore(t, zscore(TENANTS, t) or now)
        elseif verdict == 'gate' then
          redis.call('HSET', lane_key(e), 'g', s(gate))
          redis.call('ZADD', ring_key(t), s(math.max(current, gate)), e)
          rescore(t, zscore(TENANTS, t) or now)
        end
      end
    end
  end
  return now
end

if op == 'pop' then return pop(args.pump, args.budget, args.releases) end
if op == 'touch' then return touch(args.work) end
if op == 'settle' then return settle(args.pump, args.settlements) end
if op == 'release' then
  release(args.pump, args.releases)
  return now
end
return redis.error_reply('unknown lanes operation ' .. tostring(op))
