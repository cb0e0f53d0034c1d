-- wrk script for the broker benchmark: catalogue searches a portal user
-- would make (free text, kind, country, sizes, paging), with the API token
-- from MAKONIS_BENCH_TOKEN.
local token = os.getenv("MAKONIS_BENCH_TOKEN")
local queries = {
  "/api/v1/catalogue",
  "/api/v1/catalogue?q=vm",
  "/api/v1/catalogue?kind=vm&min_vcpu=8",
  "/api/v1/catalogue?kind=database&country=LV",
  "/api/v1/catalogue?q=P042",
  "/api/v1/catalogue?kind=volume&limit=20&offset=40",
  "/api/v1/catalogue?min_availability=99.9&kind=kubernetes",
  "/api/v1/catalogue?q=backup&country=EE&limit=10",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", queries[(i % #queries) + 1], { ["Authorization"] = "Bearer " .. token })
end

-- Count non-2xx answers so a broken run cannot pass for a fast one.
local errors = 0
response = function(status)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency)
  io.write(string.format("wrk: %d requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d, socket errors %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
