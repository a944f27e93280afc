"""httpjson-style input engine: transforms, split, pagination, retry, rate limits (templates: `intpkg.golang`).

Public API (see each module): `config.parse_config`/`ConfigError`, `funcs` (the input's template functions),
`httpjson.HttpJsonInput`/`IntervalResult`, `ratelimit.RequestBudget`/`BudgetPolicy`/`SystemClock`.
Tests drive it with `tests/fixtures/clocks.ManualClock` and `tests/fixtures/scripted_server.ScriptedServer`.
"""
