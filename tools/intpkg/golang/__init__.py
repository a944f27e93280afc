"""Go standard-library semantics in Python, for the templates and values Go programs see.

`template` (text/template), `fmt` (Sprint/Sprintf), `gotime` (time: Time, Duration, ParseDuration,
layouts), `httpvalues` (net/http Header, net/url Values and URL). A leaf package: it imports nothing
else from intpkg, so the input engine, the mock and the build can all share it.
"""
