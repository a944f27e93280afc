"""httpjson-style input engine: Go text/template, transforms, split, pagination, retry, rate limits.

Public API (see each module): `gotemplate.Template`, `config.parse_config`/`ConfigError`,
`httpjson.HttpJsonInput`/`IntervalResult`, `ratelimit.RequestBudget`/`BudgetPolicy`/`SystemClock`/`ManualClock`,
`testing.ScriptedServer` for loopback tests.
"""
