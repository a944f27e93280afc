"""Package tests in the spirit of elastic-package: one runner per test type behind a common interface.

`runner.TestRunner` is the interface, `runner.RUNNERS` the registry (pipeline now; static, system and
asset runners plug in the same way), `report` renders results as a table, xUnit or JSON.
"""
