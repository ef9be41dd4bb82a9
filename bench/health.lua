-- Baseline for the load benchmark: /health/live touches neither the database nor the
-- password hasher, so it measures the server and the load tool themselves.
dofile("bench/report.lua")
