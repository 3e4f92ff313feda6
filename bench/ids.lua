-- Cycles user ids so that no cache can serve a repeated request.
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", string.format(path_format or "/dashboard/%d", counter % 100000))
end
