--[[
  The fencing rule of every call a lease holder makes (renew, complete, fail,
  release), given the task's `status` and current `token` as HMGET read them
  (false when the task does not exist): NOT_FOUND, CANCELLED or LEASE_LOST, or nil
  when `presented` is the current lease's token. Uses codes.lua.
]]
local function lease_problem(status, token, presented)
  if not status then
    return NOT_FOUND
  end
  if status == 'cancelled' then
    return CANCELLED
  end
  if status ~= 'running' or token ~= presented then
    return LEASE_LOST
  end
  return nil
end
