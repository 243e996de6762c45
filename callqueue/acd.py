"""The automatic call distributor (ACD): waiting callers meet qualified agents.

State lives in Redis, so any web or worker process can route and a restart loses nothing:
  agents             set of every registered agent
  agent:{id}         hash: state, state_since, skills, idle_since, call, offered_at, wrap_until, reason
  skilled:{skill}    set of the agents who have a skill, whatever their state
  available:{skill}  sorted set of available agents by idle_since (longest idle first)
  offers             sorted set of offered agents by offer deadline (RONA after OFFER_TIMEOUT_S)
  wrapups            sorted set of agents in wrap-up by wrap_until
  waiting:{skill}    sorted set of calls in line by score (their place in line)
  deferred           sorted set of kept places whose callback was missed, by when to try again
  holding            sorted set of calls whose caller holds on the line (waiting or offered), by last sign of life
  call:{sid}         hash: skill, score, status, agent, phone, priority, ...; expires call_ttl_s after its last change
  decisions          capped list of every routing decision, for reports
A skill is "<language>:<category>" (category "general" for plain requests). A call's score
is its arrival time minus a bounded priority head start, so priority callers go ahead by
at most that much and nobody starves.

Agent and call states move only along AGENT_TRANSITIONS and CALL_TRANSITIONS. Each operation,
with the routing it triggers, is one Lua script, so it is atomic without locks and two
processes can never offer one agent two calls or one call to two agents. The scripts build
their keys from a prefix, so they target a single Redis server (not Redis Cluster).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

from redis.exceptions import ResponseError

from keys import key_for

OFFER_TIMEOUT_S = 15          # about three rings: then the offer goes to the next agent (RONA)
KEPT_PLACE_TRIES = 3          # callbacks to a caller who kept their place, before the place is given up
KEPT_PLACE_RETRY_S = 120      # a caller who kept their place and missed the call is tried again this much later
PRIORITY_HEAD_START_S = {"escalated": 120, "promised_callback": 120, "vip": 90, "repeat_caller": 60}
DECISIONS_KEPT = 100_000
TICK_BATCH = 500              # due entries of each kind one tick handles: a backlog never blocks Redis for long
CALL_TTL_S = 4 * 3600         # a call's entry outlives any wait; one nobody touches for this long is gone
GENERAL = "general"


class AgentState(str, Enum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    OFFERED = "offered"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    BREAK = "break"
    NOT_RESPONDING = "not_responding"


class CallStatus(str, Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    ABANDONED = "abandoned"
    CALLBACK_WAITING = "callback_waiting"  # hung up but kept their place
    CALLBACK_DUE = "callback_due"          # their turn came: an agent is reserved, dial them


A, C = AgentState, CallStatus
NOT_ON_A_CALL = (A.OFFLINE, A.AVAILABLE, A.WRAP_UP, A.BREAK, A.NOT_RESPONDING)

# trigger -> (states it may fire from, state it leads to); no sources: it creates the entry.
AGENT_TRANSITIONS: dict[str, tuple[tuple[AgentState, ...], AgentState]] = {
    "register": ((), A.OFFLINE),
    "go_available": (NOT_ON_A_CALL, A.AVAILABLE),
    "take_break": (NOT_ON_A_CALL, A.BREAK),
    "go_offline": (NOT_ON_A_CALL, A.OFFLINE),
    "offer": ((A.AVAILABLE,), A.OFFERED),
    "accept": ((A.OFFERED,), A.ON_CALL),
    "rona": ((A.OFFERED,), A.NOT_RESPONDING),
    "offer_withdrawn": ((A.OFFERED,), A.AVAILABLE),                 # the caller hung up while it rang
    "callback_unanswered": ((A.OFFERED, A.ON_CALL), A.AVAILABLE),   # the customer called back did not answer
    "finish": ((A.ON_CALL,), A.WRAP_UP),
    "end_wrap_up": ((A.WRAP_UP,), A.AVAILABLE),
}

CALL_TRANSITIONS: dict[str, tuple[tuple[CallStatus, ...], CallStatus]] = {
    "enqueue": ((), C.WAITING),
    "enqueue_callback": ((), C.CALLBACK_WAITING),       # a scheduled callback: reserve an agent, then dial
    "offer": ((C.WAITING,), C.OFFERED),
    "reserve": ((C.CALLBACK_WAITING,), C.CALLBACK_DUE),
    "accept": ((C.OFFERED, C.CALLBACK_DUE), C.CONNECTED),
    "rona": ((C.OFFERED,), C.WAITING),
    "reservation_lapsed": ((C.CALLBACK_DUE,), C.CALLBACK_WAITING),
    "keep_place": ((C.WAITING,), C.CALLBACK_WAITING),
    "abandon": ((C.WAITING, C.OFFERED), C.ABANDONED),
    "withdraw": ((C.CALLBACK_WAITING,), C.ABANDONED),
    "callback_unanswered": ((C.CALLBACK_DUE, C.CONNECTED), C.CALLBACK_WAITING),
    "give_up_place": ((C.CALLBACK_DUE, C.CONNECTED), C.ABANDONED),
    "transfer": ((C.CONNECTED,), C.WAITING),            # its agent hands the caller to a line or a colleague
    "retry_kept_place": ((C.CALLBACK_WAITING,), C.CALLBACK_WAITING),
}

ON_THE_LINE = (C.WAITING, C.OFFERED)   # the caller holds on the line: tracked in `holding` for liveness
SELF_SET = {A.AVAILABLE: "go_available", A.BREAK: "take_break", A.OFFLINE: "go_offline"}


class AcdError(ValueError):
    """A request the ACD refuses (unknown agent, stale offer, ...): nothing was changed."""


def skill(language: str, category: str = GENERAL) -> str:
    return f"{language}:{category or GENERAL}"


@dataclass(frozen=True)
class Offer:
    call_sid: str
    agent_id: str
    skill: str
    callback: bool  # the caller kept their place by callback: dial them, the agent waits


def _k(kind: str, ident: str = "") -> str:
    return key_for("acd:" + kind, ident)


def _machines_json() -> str:
    def machine(transitions):
        return {trigger: {"sources": {s.value: True for s in sources}, "target": target.value}
                for trigger, (sources, target) in transitions.items()}

    return json.dumps({"agent": machine(AGENT_TRANSITIONS), "call": machine(CALL_TRANSITIONS),
                       "on_the_line": {s.value: True for s in ON_THE_LINE}})


# Shared by every script, with the transition tables written in once. ARGV[1..8]: key prefix,
# now, then the tunables (read per call, so a changed constant applies at once); each
# operation's own arguments follow from ARGV[9].
_PRELUDE = r"""
local PREFIX, NOW_TEXT = ARGV[1], ARGV[2]
local NOW = tonumber(NOW_TEXT)
local OFFER_TIMEOUT_S, WRAP_UP_S, CALL_TTL_S = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local DECISIONS_KEPT, KEPT_PLACE_TRIES, KEPT_PLACE_RETRY_S = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local MACHINES = cjson.decode([==[__MACHINES__]==])
local ON_THE_LINE = MACHINES.on_the_line
local OFFERS = {}

local function key(kind, ident)
  if ident then return PREFIX .. ':' .. kind .. ':' .. ident end
  return PREFIX .. ':' .. kind
end

-- Numbers as the shortest text that reads back exactly (Lua's own conversion keeps 14 digits).
local function num(value)
  for _, format in ipairs({'%.15g', '%.16g'}) do
    local text = string.format(format, value)
    if tonumber(text) == value then return text end
  end
  return string.format('%.17g', value)
end

local function refuse(message)
  return redis.error_reply('ACD ' .. message)
end

-- Where a trigger leads from a state (nil state: a new entry), or nil if the tables forbid it.
local function target(machine, trigger, state)
  local transition = MACHINES[machine][trigger]
  local allowed
  if state == nil then allowed = next(transition.sources) == nil else allowed = transition.sources[state] end
  if allowed then return transition.target end
  return nil
end

local function first_allowed(machine, triggers, state)
  for _, trigger in ipairs(triggers) do
    if target(machine, trigger, state) then return trigger end
  end
  return nil
end

local function append(list, more)
  for _, item in ipairs(more) do list[#list + 1] = item end
  return list
end

local function hash(name)
  local flat, data = redis.call('HGETALL', name), {}
  for i = 1, #flat, 2 do data[flat[i]] = flat[i + 1] end
  return data
end

local function load_agent(id)
  if not id or id == '' then return nil end
  local agent = hash(key('agent', id))
  if not agent.state then return nil end
  agent.id, agent.skills = id, cjson.decode(agent.skills)
  return agent
end

local function load_call(sid)
  if not sid or sid == '' then return nil end
  local call = hash(key('call', sid))
  if not call.status then return nil end
  call.sid = sid
  return call
end

-- fields: a flat list of names and values; a table value {json = ...} goes in as it is.
local function record(decision, fields)
  local parts = {'"decision":' .. cjson.encode(decision), '"at":' .. num(NOW)}
  for i = 1, #fields, 2 do
    local value = fields[i + 1]
    if type(value) == 'number' then value = num(value)
    elseif type(value) == 'table' then value = value.json
    else value = cjson.encode(value) end
    parts[#parts + 1] = cjson.encode(fields[i]) .. ':' .. value
  end
  redis.call('LPUSH', key('decisions'), '{' .. table.concat(parts, ',') .. '}')
  redis.call('LTRIM', key('decisions'), 0, DECISIONS_KEPT - 1)
end

-- Move an agent along a transition the operation has checked (a refusal here is a bug); the
-- indexes kept per state follow: available:{skill}, offers, wrapups.
local function move_agent(agent, trigger, fields)
  local from, to = agent.state, target('agent', trigger, agent.state)
  if not to then error('agent ' .. agent.id .. ': ' .. trigger .. ' from ' .. tostring(from)) end
  local changes = append({'state', to}, fields)
  -- The wallboard shows how long each agent has been in their state (registering has no clock).
  if to ~= from and NOW > 0 then append(changes, {'state_since', NOW_TEXT}) end
  if to == 'available' and from ~= 'available' then
    agent.idle_since = NOW_TEXT
    append(changes, {'idle_since', NOW_TEXT})
  end
  local deadline
  if to == 'offered' then
    deadline = num(NOW + OFFER_TIMEOUT_S)
    append(changes, {'offered_at', NOW_TEXT})
  elseif to == 'wrap_up' then
    deadline = num(NOW + WRAP_UP_S)
    append(changes, {'wrap_until', deadline})
  end
  redis.call('HSET', key('agent', agent.id), unpack(changes))
  for _, name in ipairs(agent.skills) do
    if from == 'available' and to ~= 'available' then redis.call('ZREM', key('available', name), agent.id) end
    if to == 'available' and from ~= 'available' then redis.call('ZADD', key('available', name), agent.idle_since, agent.id) end
  end
  if from == 'offered' then redis.call('ZREM', key('offers'), agent.id) end
  if from == 'wrap_up' then redis.call('ZREM', key('wrapups'), agent.id) end
  if to == 'offered' then redis.call('ZADD', key('offers'), deadline, agent.id) end
  if to == 'wrap_up' then redis.call('ZADD', key('wrapups'), deadline, agent.id) end
  agent.state = to
end

-- Move a call likewise; every change renews the entry's time to live and keeps `holding` in step.
local function move_call(call, trigger, fields)
  local from, to = call.status, target('call', trigger, call.status)
  if not to then error('call ' .. call.sid .. ': ' .. trigger .. ' from ' .. tostring(from)) end
  redis.call('HSET', key('call', call.sid), unpack(append({'status', to}, fields)))
  redis.call('EXPIRE', key('call', call.sid), CALL_TTL_S)
  if ON_THE_LINE[to] and not (from and ON_THE_LINE[from]) then redis.call('ZADD', key('holding'), NOW_TEXT, call.sid) end
  if from and ON_THE_LINE[from] and not ON_THE_LINE[to] then redis.call('ZREM', key('holding'), call.sid) end
  call.status = to
end

-- A waiting caller's phone rings at the agent; a kept place reserves the agent, who then dials them.
local function offer(call, agent, skill)
  local trigger = first_allowed('call', {'offer', 'reserve'}, call.status)
  local callback = trigger == 'reserve'
  redis.call('ZREM', key('waiting', skill), call.sid)
  move_call(call, trigger, {'agent', agent.id, 'callback', callback and '1' or '0'})
  move_agent(agent, 'offer', {'call', call.sid})
  record('offered', {'call', call.sid, 'agent', agent.id, 'skill', skill, 'callback', callback})
  OFFERS[#OFFERS + 1] = {call.sid, agent.id, skill, callback and '1' or '0'}
end

-- The first call of a line and its score; entries whose call expired are dropped on the way.
local function head(skill)
  while true do
    local first = redis.call('ZRANGE', key('waiting', skill), 0, 0, 'WITHSCORES')
    if #first == 0 then return nil end
    local call = load_call(first[1])
    if call then return call, tonumber(first[2]) end
    redis.call('ZREM', key('waiting', skill), first[1])
  end
end

-- A call joined or came back to its line: the head of the line goes to the longest-idle agent.
local function route_line(skill)
  local idle = redis.call('ZRANGE', key('available', skill), 0, 0)
  if #idle == 0 then return end
  local call = head(skill)
  if call then offer(call, load_agent(idle[1]), skill) end
end

-- An agent is free: the longest-waiting call (by score) among the agent's skills.
local function route_agent(agent)
  local best, best_score, best_skill
  for _, name in ipairs(agent.skills) do
    local call, score = head(name)
    if call and (best == nil or score < best_score) then best, best_score, best_skill = call, score, name end
  end
  if best then offer(best, agent, best_skill) end
end
""".replace("__MACHINES__", _machines_json())

_OPERATIONS = {
    # ARGV: agent id, skills (JSON list)
    "register_agent": r"""
local id, skills_json = ARGV[9], ARGV[10]
local skills = cjson.decode(skills_json)
local agent = load_agent(id)
if not agent then
  move_agent({id = id, skills = {}}, 'register', {'idle_since', '0', 'skills', skills_json})
  redis.call('SADD', key('agents'), id)
else
  for _, name in ipairs(agent.skills) do
    redis.call('SREM', key('skilled', name), id)
    if agent.state == 'available' then redis.call('ZREM', key('available', name), id) end
  end
  redis.call('HSET', key('agent', id), 'skills', skills_json)
end
for _, name in ipairs(skills) do
  redis.call('SADD', key('skilled', name), id)
  if agent and agent.state == 'available' then redis.call('ZADD', key('available', name), agent.idle_since, id) end
end
return OFFERS
""",
    # ARGV: agent id, trigger, reason (why not ready: a break's; '' otherwise)
    "set_state": r"""
local id, trigger, reason = ARGV[9], ARGV[10], ARGV[11]
local agent = load_agent(id)
if not agent then return refuse("unknown agent '" .. id .. "'") end
if not target('agent', trigger, agent.state) then
  return refuse('agent ' .. id .. ' is ' .. agent.state .. ': finish that first')
end
move_agent(agent, trigger, {'reason', reason})
record('agent_state', {'agent', id, 'state', agent.state, 'reason', reason})
if agent.state == 'available' then route_agent(agent) end
return OFFERS
""",
    # ARGV: sid, skill, score, phone, priority (comma list), priority (JSON list), trigger
    "enqueue": r"""
local sid, skill, score = ARGV[9], ARGV[10], ARGV[11]
if redis.call('EXISTS', key('call', sid)) == 1 then return refuse('call ' .. sid .. ' is already queued') end
move_call({sid = sid}, ARGV[15], {'skill', skill, 'score', score, 'phone', ARGV[12], 'priority', ARGV[13],
                                 'enqueued_at', NOW_TEXT})
redis.call('ZADD', key('waiting', skill), score, sid)
record('enqueued', {'call', sid, 'skill', skill, 'priority', {json = ARGV[14]}})
route_line(skill)
return OFFERS
""",
    # ARGV: sid
    "keep_place": r"""
local call = load_call(ARGV[9])
if not call then return refuse("unknown call '" .. ARGV[9] .. "'") end
if not target('call', 'keep_place', call.status) then
  return refuse('call ' .. call.sid .. ' is ' .. call.status .. ', not waiting')
end
move_call(call, 'keep_place', {})
record('kept_place', {'call', call.sid})
return OFFERS
""",
    # ARGV: sid
    "keep_waiting": r"""
local call = load_call(ARGV[9])
if not call or not ON_THE_LINE[call.status] then return 0 end
redis.call('HSET', key('call', call.sid), 'keep_waiting', '1')
redis.call('EXPIRE', key('call', call.sid), CALL_TTL_S)
record('kept_waiting', {'call', call.sid})
return 1
""",
    # ARGV: sid
    "seen": r"""
local call = load_call(ARGV[9])
if not call or not ON_THE_LINE[call.status] then return 0 end
redis.call('ZADD', key('holding'), 'XX', 'GT', NOW_TEXT, call.sid)
redis.call('EXPIRE', key('call', call.sid), CALL_TTL_S)
return 1
""",
    # ARGV: sid
    "abandon": r"""
local sid = ARGV[9]
local call = load_call(sid)
if not call then
  redis.call('ZREM', key('holding'), sid)  -- its entry expired: nothing else to tidy
  return OFFERS
end
if not target('call', 'abandon', call.status) then return OFFERS end
local agent = load_agent(call.agent)
if agent and agent.call == sid and target('agent', 'offer_withdrawn', agent.state) then
  move_agent(agent, 'offer_withdrawn', {'call', ''})
else
  agent = nil
end
redis.call('ZREM', key('waiting', call.skill), sid)
move_call(call, 'abandon', {'agent', ''})
record('abandoned', {'call', sid})
if agent then
  record('offer_withdrawn', {'call', sid, 'agent', agent.id})
  route_agent(agent)
end
return OFFERS
""",
    # ARGV: sid
    "withdraw": r"""
local call = load_call(ARGV[9])
if not call then return 1 end  -- its entry expired: it can no longer be offered
if not target('call', 'withdraw', call.status) then return 0 end
redis.call('ZREM', key('waiting', call.skill), call.sid)
redis.call('ZREM', key('deferred'), call.sid)
move_call(call, 'withdraw', {})
record('withdrawn', {'call', call.sid})
return 1
""",
    # ARGV: agent id, sid
    "accept": r"""
local id, sid = ARGV[9], ARGV[10]
local agent, call = load_agent(id), load_call(sid)
if not agent then return refuse("unknown agent '" .. id .. "'") end
if not call then return refuse("unknown call '" .. sid .. "'") end
if agent.call ~= sid or not target('agent', 'accept', agent.state) or not target('call', 'accept', call.status) then
  return refuse('call ' .. sid .. ' is not on offer to agent ' .. id)
end
move_agent(agent, 'accept', {})
move_call(call, 'accept', {})
record('accepted', {'call', sid, 'agent', id, 'waited', NOW - tonumber(call.enqueued_at)})
return OFFERS
""",
    # ARGV: agent id
    "finish": r"""
local id = ARGV[9]
local agent = load_agent(id)
if not agent then return refuse("unknown agent '" .. id .. "'") end
if not target('agent', 'finish', agent.state) then return refuse('agent ' .. id .. ' is not on a call') end
local sid = agent.call or ''
move_agent(agent, 'finish', {'call', ''})
record('finished', {'agent', id, 'call', sid})
return OFFERS
""",
    # ARGV: agent id, sid, line ('': the call's own), agent to offer it to ('': the line's next),
    # the call the customer is on (a callback's dialled call; else the sid itself)
    "transfer": r"""
local id, sid, line, to, leg = ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]
local agent, call = load_agent(id), load_call(sid)
if not agent or not call or agent.call ~= sid or not target('agent', 'finish', agent.state)
    or not target('call', 'transfer', call.status) then
  return refuse('call ' .. sid .. ' is not connected to agent ' .. id)
end
if call.callback == '1' and (leg == '' or leg == sid) then
  return refuse('call ' .. sid .. ' is a callback whose dialled call is unknown')
end
if line == '' then line = call.skill end
local colleague = load_agent(to)
if to ~= '' and (to == id or not colleague or not target('agent', 'offer', colleague.state)) then
  return refuse('agent ' .. to .. ' is not available')
end
move_agent(agent, 'finish', {'call', ''})
record('finished', {'agent', id, 'call', sid})
if call.callback == '1' then
  -- The customer is on the call dialled to them: that call takes the entry's place, as an
  -- ordinary caller on the line (nothing is left to dial), and the entry and its links go.
  local fields = redis.call('HGETALL', key('call', sid))
  redis.call('DEL', key('call', sid), key('callback_leg', sid), key('kept_place_call', leg))
  redis.call('HSET', key('call', leg), unpack(fields))
  record('callback_handed_on', {'call', sid, 'leg', leg})
  call = load_call(leg)
  sid = call.sid
end
-- Back in line with its first score: ahead of everyone who called after it.
redis.call('ZADD', key('waiting', line), call.score, sid)
move_call(call, 'transfer', {'agent', '', 'skill', line, 'transferred_from', id, 'enqueued_at', NOW_TEXT,
                             'callback', '0'})
record('transferred', {'call', sid, 'agent', id, 'skill', line, 'to', to})
if colleague then offer(call, colleague, line) else route_line(line) end
return OFFERS
""",
    # ARGV: batch size
    "tick": r"""
local batch = tonumber(ARGV[9])
local function due(name)
  return redis.call('ZRANGEBYSCORE', key(name), '-inf', NOW_TEXT, 'LIMIT', 0, batch)
end
for _, sid in ipairs(due('deferred')) do
  redis.call('ZREM', key('deferred'), sid)
  local call = load_call(sid)
  if call and target('call', 'retry_kept_place', call.status) then
    redis.call('ZADD', key('waiting', call.skill), call.score, sid)
    move_call(call, 'retry_kept_place', {})
    record('kept_place_retry', {'call', sid})
    route_line(call.skill)
  end
end
for _, id in ipairs(due('offers')) do
  local agent = load_agent(id)
  if agent and target('agent', 'rona', agent.state) then
    local sid = agent.call or ''
    local call = load_call(sid)
    move_agent(agent, 'rona', {'call', ''})
    local trigger = call and first_allowed('call', {'rona', 'reservation_lapsed'}, call.status)
    if trigger then
      -- Back in line with its original score: the caller loses nothing.
      redis.call('ZADD', key('waiting', call.skill), call.score, call.sid)
      move_call(call, trigger, {'agent', ''})
    end
    record('rona', {'call', sid, 'agent', id})
    if trigger then route_line(call.skill) end
  else
    redis.call('ZREM', key('offers'), id)
  end
end
for _, id in ipairs(due('wrapups')) do
  local agent = load_agent(id)
  if agent and target('agent', 'end_wrap_up', agent.state) then
    move_agent(agent, 'end_wrap_up', {})
    route_agent(agent)
  else
    redis.call('ZREM', key('wrapups'), id)
  end
end
return OFFERS
""",
    # ARGV: sid, keep place ('1' or '0')
    "callback_unanswered": r"""
local sid, keep = ARGV[9], ARGV[10] == '1'
local call = load_call(sid)
if not call then return refuse("unknown call '" .. sid .. "'") end
local tries = tonumber(call.callback_tries or '0') + 1
local give_up = tries >= KEPT_PLACE_TRIES or not keep
local trigger = give_up and 'give_up_place' or 'callback_unanswered'
if call.callback ~= '1' or not target('call', trigger, call.status) then
  return refuse('call ' .. sid .. ' is ' .. call.status .. ': no callback to it was under way')
end
local agent = load_agent(call.agent)
if agent and agent.call == sid and target('agent', 'callback_unanswered', agent.state) then
  move_agent(agent, 'callback_unanswered', {'call', ''})
else
  agent = nil
end
move_call(call, trigger, {'agent', '', 'callback_tries', tries})
if give_up then
  record(keep and 'kept_place_given_up' or 'callback_unanswered', {'call', sid, 'tries', tries})
else
  -- Out of line for a while (the customer may be busy); back with the same place later.
  redis.call('ZADD', key('deferred'), num(NOW + KEPT_PLACE_RETRY_S), sid)
  record('kept_place_unanswered', {'call', sid, 'tries', tries})
end
if agent then route_agent(agent) end
return OFFERS
""",
}

_REFUSED = "ACD "   # how a script's refusal starts: it becomes an AcdError


class Distributor:
    def __init__(self, connection, wrap_up_s: int = 30, call_ttl_s: int = CALL_TTL_S):
        self.redis, self.wrap_up_s, self.call_ttl_s = connection, wrap_up_s, call_ttl_s
        self._scripts = {name: connection.register_script(_PRELUDE + body) for name, body in _OPERATIONS.items()}

    def _run(self, operation: str, now: float, *args):
        settings = (key_for("acd"), now, OFFER_TIMEOUT_S, self.wrap_up_s, self.call_ttl_s, DECISIONS_KEPT,
                    KEPT_PLACE_TRIES, KEPT_PLACE_RETRY_S)
        try:
            return self._scripts[operation](args=[*settings, *args])
        except ResponseError as error:
            if str(error).startswith(_REFUSED):
                raise AcdError(str(error).removeprefix(_REFUSED)) from None
            raise

    def _offers(self, operation: str, now: float, *args) -> list[Offer]:
        return [Offer(sid.decode(), agent.decode(), line.decode(), callback == b"1")
                for sid, agent, line, callback in self._run(operation, now, *args)]

    # --- agents ---

    def register_agent(self, agent_id: str, *, languages, categories) -> None:
        """Add an agent, or update their skills (a known agent keeps their state; callers already
        waiting in a newly added skill reach them from their next change of state)."""
        skills = sorted({skill(lang, cat) for lang in languages for cat in [*categories, GENERAL]})
        self._run("register_agent", 0, agent_id, json.dumps(skills))   # records no decision: no clock needed

    def agent_ids(self) -> list[str]:
        return sorted(member.decode() for member in self.redis.smembers(_k("agents")))

    def agent(self, agent_id: str) -> dict:
        data = self.redis.hgetall(_k("agent", agent_id))
        if not data:
            raise AcdError(f"unknown agent {agent_id!r}")
        agent = {k.decode(): v.decode() for k, v in data.items()}
        agent["skills"] = json.loads(agent["skills"])
        return agent

    def lines(self) -> list[str]:
        """Every line some registered agent serves (a line nobody serves is no place to send a caller)."""
        return sorted({line for agent_id in self.agent_ids() for line in self.agent(agent_id)["skills"]})

    def agents_on_duty(self, call_skill: str) -> int:
        """How many agents with this skill are signed in (in any state but offline)."""
        states = self.redis.pipeline(transaction=False)
        for member in self.redis.smembers(_k("skilled", call_skill)):
            states.hget(_k("agent", member.decode()), "state")
        return sum(1 for state in states.execute() if state and state.decode() != AgentState.OFFLINE.value)

    def waiting_count(self, call_skill: str) -> int:
        return self.redis.zcard(_k("waiting", call_skill))

    def oldest_waiting(self, call_skill: str) -> float | None:
        """When the longest-waiting caller of a line arrived (its score, without priority head start)."""
        head = self.redis.zrange(_k("waiting", call_skill), 0, 0)
        if not head:
            return None
        enqueued = self.redis.hget(_k("call", head[0].decode()), "enqueued_at")
        return float(enqueued) if enqueued else None

    def set_state(self, agent_id: str, state: AgentState, now: float, reason: str = "") -> list[Offer]:
        """An agent's own change (available, break, offline). Going available may bring an offer.
        A break's `reason` (a not-ready reason's code) is kept beside it, as `reason`."""
        if state not in SELF_SET:
            raise AcdError(f"agents cannot set themselves {state.value}")
        return self._offers("set_state", now, agent_id, SELF_SET[state], reason if state is AgentState.BREAK else "")

    # --- calls ---

    def enqueue(self, call_sid: str, call_skill: str, now: float, *, phone: str = "",
                priority: tuple[str, ...] = (), by_callback: bool = False) -> list[Offer]:
        """A call joins its line; by_callback: nobody is on the line yet (a scheduled callback that
        reserves an agent first), so its offer dials the customer once the agent accepts."""
        head_start = max((PRIORITY_HEAD_START_S.get(p, 0) for p in priority), default=0)
        return self._offers("enqueue", now, call_sid, call_skill, now - head_start, phone, ",".join(priority),
                            json.dumps(list(priority)), "enqueue_callback" if by_callback else "enqueue")

    def call(self, call_sid: str) -> dict:
        data = self.redis.hgetall(_k("call", call_sid))
        if not data:
            raise AcdError(f"unknown call {call_sid!r}")
        return {k.decode(): v.decode() for k, v in data.items()}

    def ahead(self, call_sid: str) -> int:
        """How many callers are ahead of this one in its line (0: next to be served)."""
        call = self.call(call_sid)
        rank = self.redis.zrank(_k("waiting", call["skill"]), call_sid)
        if rank is None:
            raise AcdError(f"call {call_sid} is {call['status']}, not waiting in line")
        return rank

    def seen(self, call_sid: str, now: float) -> bool:
        """A sign of life from a caller on the line (Twilio fetched the queue's waitUrl): keeps
        them out of stale_waiting. False if the call is not on the line."""
        return bool(self._run("seen", now, call_sid))

    def stale_waiting(self, before: float) -> list[str]:
        """Calls on the line (waiting or offered) with no sign of life since `before`: their
        hang-up was probably never reported."""
        return [sid.decode() for sid in self.redis.zrangebyscore(_k("holding"), "-inf", f"({before!r}")]

    def waiting_sids(self) -> list[str]:
        """Every call whose caller holds on the line (waiting or offered), for a sweep to check."""
        return [sid.decode() for sid in self.redis.zrange(_k("holding"), 0, -1)]

    def keep_place(self, call_sid: str, now: float) -> None:
        """The caller hangs up but keeps their place: called back when their turn comes."""
        self._run("keep_place", now, call_sid)

    def keep_waiting(self, call_sid: str, now: float) -> bool:
        """Offered a callback after a long wait, the caller chose to stay on the line. False if
        the call is no longer on the line."""
        return bool(self._run("keep_waiting", now, call_sid))

    def abandon(self, call_sid: str, now: float) -> list[Offer]:
        """The caller hung up, whatever the call's status and however often this is reported:
        a waiting call leaves its line; an offered call is withdrawn from its agent, who takes the
        next caller (the offers returned); any other call is left as it is."""
        return self._offers("abandon", now, call_sid)

    def withdraw(self, call_sid: str, now: float) -> bool:
        """Take a callback out of line while it still waits (not offered); True if it was, or if
        its entry has expired (it can no longer be offered either)."""
        return bool(self._run("withdraw", now, call_sid))

    # --- offers ---

    def accept(self, agent_id: str, call_sid: str, now: float) -> None:
        self._run("accept", now, agent_id, call_sid)

    def finish(self, agent_id: str, now: float) -> None:
        """The agent's call ended: wrap-up, then available again (see tick)."""
        self._run("finish", now, agent_id)

    def transfer(self, agent_id: str, call_sid: str, now: float, *, line: str = "", to_agent: str = "",
                 leg: str = "") -> list[Offer]:
        """The agent on a call hands the caller on: to `to_agent` (who must be available: the call
        is offered to them at once) or to the head of `line`'s waiting callers (their own line when
        empty). The caller keeps the score they first joined with, so they are served before
        everyone who called after them (and after a colleague's RONA, back in that line), and the
        agent goes into wrap-up. A callback's customer is on `leg`, the call dialled to them: it
        waits in the callback's place from now on, under its own SID, as any caller on the line."""
        return self._offers("transfer", now, agent_id, call_sid, line, to_agent, leg or call_sid)

    def tick(self, now: float) -> list[Offer]:
        """Time passes: missed kept places come back in line, offers unanswered past
        OFFER_TIMEOUT_S go on (RONA), wrap-ups end. Only entries now due are touched."""
        return self._offers("tick", now, TICK_BATCH)

    def callback_unanswered(self, call_sid: str, now: float, *, keep_place: bool = True) -> list[Offer]:
        """The customer called back did not answer: free the agent and offer them the next caller.
        A caller who kept their place keeps it (at most KEPT_PLACE_TRIES tries); a scheduled
        callback (keep_place False) leaves the line: its own retry rules call again later."""
        return self._offers("callback_unanswered", now, call_sid, "1" if keep_place else "0")

    # --- decisions ---

    def record(self, decision: str, now: float, **fields) -> None:
        pipe = self.redis.pipeline()
        pipe.lpush(_k("decisions"), json.dumps({"decision": decision, "at": now, **fields}))
        pipe.ltrim(_k("decisions"), 0, DECISIONS_KEPT - 1)
        pipe.execute()

    def decisions(self, count: int = 100) -> list[dict]:
        return [json.loads(d) for d in self.redis.lrange(_k("decisions"), 0, count - 1)]
