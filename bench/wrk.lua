-- wrk script for the load benchmarks (bench/wrk.rs writes the files and runs wrk).
--
-- Each wrk thread replays its own file of pre-built, pre-signed raw HTTP requests: the file
-- named by WRK_REQUESTS with ".<thread number>" appended, whose first line is the length of
-- every record (all records have the same length), followed by the records back to back.
-- Signing happens before the round, so the client's cost per request is the same small
-- constant for every handler. A thread that runs out of records starts over; the server
-- then sees duplicates, which the benchmark counts and reports.

local counter = 0
local threads = {}

function setup(thread)
   thread:set("number", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local data, length, count, index

function init(args)
   local path = os.getenv("WRK_REQUESTS") .. "." .. number
   local file = assert(io.open(path, "rb"))
   local header = file:read("*l")
   length = tonumber(header)
   data = file:read("*a")
   file:close()
   count = math.floor(#data / length)
   index = 0
end

function request()
   local start = index * length + 1
   index = index + 1
   if index >= count then
      index = 0
   end
   return data:sub(start, start + length - 1)
end

function done(summary, latency, requests)
   local bad = summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout
   io.write(string.format(
      "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
      summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0), bad))
end
