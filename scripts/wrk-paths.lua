-- Cycles through the request paths listed one per line in $PATHS, and prints
-- the percentiles wrk's --latency table leaves out.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("latency p50 %.1f p95 %.1f p99 %.1f ms, non-2xx %d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.status))
end
